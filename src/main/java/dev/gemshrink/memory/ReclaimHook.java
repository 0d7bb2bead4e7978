package dev.gemshrink.memory;

/**
 * What a {@link PagePool} calls when an allocation does not fit: direct reclaim. The pool holds no lock of its own
 * while it calls the hook, but the caller of the allocation may hold reservation locks, so the hook must never
 * block on one (it may only try-lock).
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
