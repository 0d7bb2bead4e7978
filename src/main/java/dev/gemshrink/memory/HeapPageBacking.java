package dev.gemshrink.memory;

import java.nio.ByteBuffer;

/** Frames as heap byte arrays, created the first time a frame is used so an unused budget costs nothing. */
final class HeapPageBacking extends LazyPageBacking {

    HeapPageBacking(int frames) {
        super(frames);
    }

    @Override
    ByteBuffer create(int pfn) {
        ByteBuffer created = ByteBuffer.allocate(PagePool.PAGE_SIZE);
        ByteBuffer won = frames.compareAndExchange(pfn, null, created);
        return won != null ? won : created;
    }
}
