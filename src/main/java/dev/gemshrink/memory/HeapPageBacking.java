package dev.gemshrink.memory;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;

/** Frames as heap byte arrays, created the first time a frame is used so an unused budget costs nothing. */
final class HeapPageBacking implements PageBacking {
    // An AtomicReferenceArray so a frame created by one thread is seen whole by any other (safe publication).
    private final AtomicReferenceArray<ByteBuffer> frames;

    HeapPageBacking(int frames) {
        if (frames < 0) {
            throw new IllegalArgumentException("frames must be >= 0: " + frames);
        }
        this.frames = new AtomicReferenceArray<>(frames);
    }

    @Override
    public int frames() {
        return frames.length();
    }

    @Override
    public ByteBuffer frame(int pfn) {
        ByteBuffer f = frames.get(pfn);
        if (f == null) {
            ByteBuffer created = ByteBuffer.allocate(PagePool.PAGE_SIZE);
            f = frames.compareAndExchange(pfn, null, created);
            if (f == null) {
                f = created;
            }
        }
        return f;
    }
}
