package dev.gemshrink.memory;

import java.nio.ByteBuffer;

/**
 * Where the bytes of a {@link PagePool}'s frames live. A frame is one 4 KiB page, named by its frame number
 * ({@code pfn}, 0 to {@link #frames()} - 1). The default is {@link #heap(int)}; an off-heap backing implements the
 * same two methods.
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
}
