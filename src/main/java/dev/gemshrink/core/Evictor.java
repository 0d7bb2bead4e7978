package dev.gemshrink.core;

/**
 * The callback a driver supplies per object type to give an object's memory back (the kernel's
 * {@code drm_gem_object_funcs.evict}). The core calls it with the object's reservation lock held, from the
 * shrinker's scan and from {@link ShmemObject#purge()} / {@link ShmemObject#evict()}, and hands it a
 * {@link ReclaimPermit}: the only way to do the work. The callback either applies its policy and reclaims through
 * the permit, or answers {@link Outcome#BUSY} (its own lock is contended, the GPU is still using the object). It must
 * never block on a lock. It may throw a {@link dev.gemshrink.GemException} (for example ENOMEM from a failed swap
 * write); the shrinker then skips the object.
 */
public interface Evictor {

    /** What a call did. */
    enum Outcome {
        /** The object was purged or evicted through the permit. */
        DONE,
        /** Nothing was done; the object stays as it was and is tried again later. */
        BUSY
    }

    /**
     * Purges a DONTNEED object.
     *
     * @param obj    the object, its reservation lock held by the caller
     * @param permit the permit to purge it with, valid during this call
     * @return DONE or BUSY
     */
    Outcome purge(ShmemObject obj, ReclaimPermit permit);

    /**
     * Evicts a WILLNEED object to swap.
     *
     * @param obj    the object, its reservation lock held by the caller
     * @param permit the permit to evict it with, valid during this call
     * @return DONE or BUSY
     */
    Outcome evict(ShmemObject obj, ReclaimPermit permit);

    /**
     * Returns what a busy object waits for, for active reclaim: called with the object's reservation lock held
     * right after {@link #purge} or {@link #evict} answered BUSY, by a scan of a stage that waits for idle objects
     * ({@link ReclaimStage#waitsForIdle()}) in a context that may block. The scan then waits on it with no lock held,
     * up to the device's fence wait, and tries the object once more. The default: null, nothing to wait for.
     *
     * @param obj the object, its reservation lock held by the caller
     * @return the wait for the work that keeps it busy, or null when waiting would not make it reclaimable
     */
    default IdleWait idleWait(ShmemObject obj) {
        return null;
    }

    /**
     * Returns the evictor of plain shmem objects: purge or evict when the object's state allows it, else BUSY.
     *
     * @return the default evictor
     */
    static Evictor shmem() {
        return ShmemEvictor.INSTANCE;
    }

    /**
     * Returns the evictor of objects that are never reclaimed (for example a driver's heap chunks while their owner
     * lives): it answers BUSY to every call.
     *
     * @return the evictor that refuses
     */
    static Evictor never() {
        return NeverEvictor.INSTANCE;
    }
}
