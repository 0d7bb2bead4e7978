package dev.gemshrink.memory;

import java.nio.ByteBuffer;

/**
 * Where the bytes of a {@link PagePool}'s frames live. A frame is one 4 KiB page, named by its frame number
 * ({@code pfn}, 0 to {@link #frames()} - 1). The default is {@link #heap(int)}; {@link #direct(int)} keeps the
 * frames off the Java heap. Either way the pool zero-fills a frame when it hands it out.
 *
 * <p>Thread safety: {@link #frame(int)} may be called from any thread, for any frame the pool has handed out.
 */
public interface PageBacking {

    /**
     * Returns the number of frames.
     *
     * @return the number of 4 KiB frames this backing holds
     */
    int frames();

    /**
     * Returns the bytes of one frame. The buffer has capacity {@link PagePool#PAGE_SIZE}; callers use absolute
     * get/put only, so the buffer's position is never relied on and one buffer may serve many threads.
     *
     * @param pfn the frame number
     * @return the frame's bytes
     */
    ByteBuffer frame(int pfn);

    /**
     * Returns a heap backing of {@code frames} frames whose byte arrays are created on first use.
     *
     * @param frames the number of frames
     * @return a new heap backing
     */
    static PageBacking heap(int frames) {
        return new HeapPageBacking(frames);
    }

    /**
     * Returns an off-heap backing of {@code frames} frames: direct buffers, taken 2 MiB at a time on first use and
     * bounded by {@code -XX:MaxDirectMemorySize}. A swap store writes and reads such frames without copying them.
     *
     * @param frames the number of frames
     * @return a new direct backing
     */
    static PageBacking direct(int frames) {
        return new DirectPageBacking(frames);
    }

    /** The kinds of backing, for choosing one by name (a builder setting or a command line option). */
    enum Kind {
        /** Heap byte arrays ({@link PageBacking#heap(int)}). */
        HEAP,
        /** Direct buffers off the Java heap ({@link PageBacking#direct(int)}). */
        DIRECT;

        /**
         * Creates a backing of this kind.
         *
         * @param frames the number of frames
         * @return a new backing
         */
        public PageBacking create(int frames) {
            return this == HEAP ? heap(frames) : direct(frames);
        }
    }
}
