package dev.gemshrink.memory;

/**
 * What a {@link PagePool} calls when an allocation does not fit: direct reclaim. A pool may have several hooks (one
 * per user, see {@link PagePool#addReclaimHook}); it asks them in turn until the allocation's shortfall is met. The
 * pool holds no lock of its own while it calls a hook, but the caller of the allocation may hold reservation locks,
 * so the hook must never block on one (it may only try-lock). A hook that throws fails the allocation, which then
 * takes nothing.
 */
@FunctionalInterface
public interface ReclaimHook {

    /**
     * Tries to free at least {@code pages} pages back to the pool.
     *
     * @param pages how many more pages the pending allocation needs
     * @return how many pages were freed (0 when nothing could be freed)
     */
    long reclaim(long pages);
}
