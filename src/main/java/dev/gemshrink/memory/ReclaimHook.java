package dev.gemshrink.memory;

/**
 * What a {@link PagePool} calls when an allocation does not fit: direct reclaim. A pool may have several hooks (one
 * per user, see {@link PagePool#addReclaimHook}); it asks them in turn until the allocation's shortfall is met. The
 * pool holds no lock of its own while it calls a hook, but the caller of the allocation may hold reservation locks,
 * so the hook must never block on one (it may only try-lock). A hook that throws fails the allocation, which then
 * takes nothing.
 *
 * <p>Whether the hook may block at all (wait, bounded, for busy objects' fences) is the allocating caller's to say:
 * the pool calls {@link #reclaim(long)} for an allocation made with {@link PagePool#allocate} (its caller may hold a
 * lock a GPU job needs to signal its fence) and {@link #reclaimMayBlock(long)} for one made with
 * {@link PagePool#allocateMayBlock} (its caller holds no such lock).
 */
@FunctionalInterface
public interface ReclaimHook {

    /**
     * Tries to free at least {@code pages} pages back to the pool without blocking: nothing may wait, not even for a
     * busy object's fences.
     *
     * @param pages how many more pages the pending allocation needs
     * @return how many pages were freed (0 when nothing could be freed)
     */
    long reclaim(long pages);

    /**
     * Tries to free at least {@code pages} pages back to the pool for a caller that allows blocking: the hook may
     * also wait, for a bounded time, for busy objects to become idle (still never for a reservation lock). The
     * default reclaims as {@link #reclaim(long)} does: a hook that never blocks need not tell the two apart.
     *
     * @param pages how many more pages the pending allocation needs
     * @return how many pages were freed (0 when nothing could be freed)
     */
    default long reclaimMayBlock(long pages) {
        return reclaim(pages);
    }
}
