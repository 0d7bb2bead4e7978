package dev.gemshrink.memory;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Frames in direct (off-heap) memory: slabs of {@link #SLAB_FRAMES} frames (2 MiB) taken with
 * {@link ByteBuffer#allocateDirect} the first time one of their frames is used, so an unused budget costs nothing,
 * and each frame a 4 KiB slice of its slab. Direct frames let a swap store write and read a page with no copy
 * through a heap buffer. The slabs are released when the backing is no longer reachable (the JDK frees direct
 * buffers with their owner); {@code -XX:MaxDirectMemorySize} bounds them, and running out is an
 * {@link OutOfMemoryError} of {@link #frame}, which the pool turns into ENOMEM.
 */
final class DirectPageBacking implements PageBacking {
    /** Frames per slab: 2 MiB of direct memory per allocation. */
    static final int SLAB_FRAMES = 512;

    // The frame slices, set once per slab; an AtomicReferenceArray so a slice set by one thread is seen whole by
    // any other (safe publication), read without the lock.
    private final AtomicReferenceArray<ByteBuffer> frames;
    private final Object slabLock = new Object(); // a leaf: guards the creation of slabs, so each is made once

    DirectPageBacking(int frames) {
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
        return f != null ? f : createSlab(pfn);
    }

    /** Allocates the slab holding {@code pfn} (unless another thread just did) and returns that frame. */
    private ByteBuffer createSlab(int pfn) {
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
