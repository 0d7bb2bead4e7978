package dev.gemshrink.memory;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;

/** A backing whose frames are created the first time they are used, so an unused budget costs nothing. */
abstract class LazyPageBacking implements PageBacking {
    // An AtomicReferenceArray so a frame set by one thread is seen whole by any other (safe publication).
    final AtomicReferenceArray<ByteBuffer> frames;

    LazyPageBacking(int frames) {
        if (frames < 0) {
            throw new IllegalArgumentException("frames must be >= 0: " + frames);
        }
        this.frames = new AtomicReferenceArray<>(frames);
    }

    @Override
    public final int frames() {
        return frames.length();
    }

    @Override
    public final ByteBuffer frame(int pfn) {
        ByteBuffer f = frames.get(pfn);
        return f != null ? f : create(pfn);
    }

    /** Creates frame {@code pfn} (and maybe its neighbours), unless another thread just did, and returns it. */
    abstract ByteBuffer create(int pfn);
}
