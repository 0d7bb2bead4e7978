package dev.gemshrink.memory;

import java.nio.ByteBuffer;

/**
 * Frames in direct (off-heap) memory: slabs of {@link #SLAB_FRAMES} frames (2 MiB) taken with
 * {@link ByteBuffer#allocateDirect} the first time one of their frames is used, so an unused budget costs nothing,
 * and each frame a 4 KiB slice of its slab. Direct frames let a swap store write and read a page with no copy
 * through a heap buffer. The slabs are released when the backing is no longer reachable (the JDK frees direct
 * buffers with their owner); {@code -XX:MaxDirectMemorySize} bounds them, and running out is an
 * {@link OutOfMemoryError} of {@link #frame}, which the pool turns into ENOMEM.
 */
final class DirectPageBacking extends LazyPageBacking {
    /** Frames per slab: 2 MiB of direct memory per allocation. */
    static final int SLAB_FRAMES = 512;

    // A leaf lock: guards the creation of slabs, so each is made once (frames are set under it, read without it).
    private final Object slabLock = new Object();

    DirectPageBacking(int frames) {
        super(frames);
    }

    /** Allocates the slab holding {@code pfn} (unless another thread just did) and returns that frame. */
    @Override
    ByteBuffer create(int pfn) {
        synchronized (slabLock) {
            ByteBuffer f = frames.get(pfn);
            if (f != null) {
                return f;
            }
            int first = pfn - pfn % SLAB_FRAMES;
            int count = Math.min(SLAB_FRAMES, frames.length() - first);
            ByteBuffer slab = ByteBuffer.allocateDirect(count * PagePool.PAGE_SIZE); // the step that can fail
            for (int i = 0; i < count; i++) {
                frames.set(first + i, slab.slice(i * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE));
            }
            return frames.get(pfn);
        }
    }
}
