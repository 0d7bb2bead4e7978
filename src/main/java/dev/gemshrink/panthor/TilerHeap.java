package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.Evictor;
import dev.gemshrink.core.OwnerKind;
import dev.gemshrink.core.PagesRef;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;

/**
 * A VM's tiler heap: memory the GPU's tiler grows chunk by chunk while a job runs. Chunks are allocated without
 * reclaim (fail fast, like {@code GFP_NOWAIT}): when the free RAM does not hold the next chunk, or the heap has its
 * maximum number of chunks, the growth fails and the job does incremental rendering instead of faulting.
 *
 * <p>Backed by a sparse shmem object whose one page use the heap holds while any chunk exists (the use is the
 * owner of the page array: no flag records it). Chunks are never reclaimed. Guarded by the object's reservation
 * lock.
 */
public final class TilerHeap {
    private final String name;
    private final int chunkPages;
    private final int maxChunks;
    private final ShmemObject shmem;
    private PagesRef use; // guarded by resv: the page array's owner, non-null iff chunks > 0
    private int chunks; // guarded by resv

    TilerHeap(PanthorDevice dev, String name, int chunkPages, int maxChunks) {
        this.name = name;
        this.chunkPages = chunkPages;
        this.maxChunks = maxChunks;
        this.shmem = dev.gem().createObject(name, (long) chunkPages * maxChunks * PagePool.PAGE_SIZE,
                Evictor.never()); // chunks are never reclaimed while their VM lives
    }

    /**
     * Returns the heap's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the chunks allocated so far.
     *
     * @return chunks
     */
    public int chunks() {
        return shmem.resv().locked(() -> chunks);
    }

    /**
     * Returns the most chunks the heap may hold.
     *
     * @return the limit
     */
    public int maxChunks() {
        return maxChunks;
    }

    /**
     * Returns the pages per chunk.
     *
     * @return pages
     */
    public int chunkPages() {
        return chunkPages;
    }

    /** The backing object (for the checker and tests). */
    ShmemObject shmem() {
        return shmem;
    }

    /** Whether the heap holds its page use (checked against the chunk count). Resv taken here. */
    boolean holdsUse() {
        return shmem.resv().locked(() -> use != null);
    }

    /**
     * Allocates the next chunk without reclaim, all or nothing: on failure the heap is as it was (a page array
     * created for a first chunk is released again).
     *
     * @return the new chunk's index
     * @throws GemException ENOMEM when the chunk cannot be had now (free RAM short, or the heap is full)
     */
    int grow() {
        return shmem.resv().locked(() -> {
            if (chunks == maxChunks) {
                throw new GemException(Errno.ENOMEM, name + " has its " + maxChunks + " chunks");
            }
            boolean created = use == null;
            PagesRef u = created ? shmem.getPagesSparse(OwnerKind.PAGES_HEAP_CHUNKS) : use;
            try {
                shmem.populateNowait(chunks * chunkPages, chunkPages);
            } catch (Throwable t) {
                if (created) {
                    u.close(); // frees the empty page array
                }
                throw t;
            }
            use = u;
            return chunks++;
        });
    }

    /** Frees the chunks and the object (the VM is destroyed). */
    void destroy() {
        shmem.resv().locked(() -> {
            PagesRef u = use;
            use = null;
            chunks = 0;
            try {
                if (u != null) {
                    u.close();
                }
            } finally {
                shmem.free();
            }
            return null;
        });
    }

    @Override
    public String toString() {
        return "TilerHeap[" + name + ", " + chunkPages + " pages x " + maxChunks + "]";
    }
}
