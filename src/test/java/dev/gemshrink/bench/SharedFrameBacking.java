package dev.gemshrink.bench;

import dev.gemshrink.memory.PageBacking;
import dev.gemshrink.memory.PagePool;
import java.nio.ByteBuffer;

/**
 * A bench-only {@link PageBacking} that declares many frames but keeps only a few real 4 KiB buffers: frame
 * {@code pfn} is buffer {@code pfn % real}. It lets a benchmark keep 10^6 (or 16 x 10^6) pages resident without
 * 4 GiB (64 GiB) of heap. Every bookkeeping path (the pool's free stack, the objects' frame arrays, the LRUs, the
 * zero-fill on allocation) runs exactly as with real frames; only the bytes alias, so it is used only where the
 * contents do not matter (hot paths, count/scan scaling, per-object memory). The buffer-cache and swap benchmarks
 * use the default heap backing, where every frame is real.
 */
final class SharedFrameBacking implements PageBacking {
    private final int frames;
    private final ByteBuffer[] real;

    SharedFrameBacking(int frames, int realFrames) {
        this.frames = frames;
        this.real = new ByteBuffer[realFrames];
        for (int i = 0; i < realFrames; i++) {
            real[i] = ByteBuffer.allocate(PagePool.PAGE_SIZE);
        }
    }

    /** A pool of {@code frames} frames sharing 16 real buffers. */
    static PagePool pool(int frames) {
        return new PagePool(new SharedFrameBacking(frames, 16));
    }

    @Override
    public int frames() {
        return frames;
    }

    @Override
    public ByteBuffer frame(int pfn) {
        return real[pfn % real.length];
    }
}
