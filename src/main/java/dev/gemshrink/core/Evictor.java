package dev.gemshrink.core;

/**
 * The callback a driver supplies per object type to give an object's memory back (the kernel's
 * {@code drm_gem_object_funcs.evict}). The shrinker calls it with the object's reservation lock held; it either
 * does the work or answers {@link Outcome#BUSY} (for example when the driver's own lock is contended or the GPU is
 * still using the object). It must never block on a lock.
 */
public interface Evictor {

    /** What a call did. */
    enum Outcome {
        /** The object was purged or evicted. */
        DONE,
        /** Nothing was done; the object stays as it was and is tried again later. */
        BUSY
    }

    /**
     * Purges a DONTNEED object.
     *
     * @param obj the object, its reservation lock held by the caller
     * @return DONE or BUSY
     */
    Outcome purge(ShmemObject obj);

    /**
     * Evicts a WILLNEED object to swap.
     *
     * @param obj the object, its reservation lock held by the caller
     * @return DONE or BUSY
     */
    Outcome evict(ShmemObject obj);

    /**
     * Returns the evictor of plain shmem objects: purge or evict when the object's state allows it, else BUSY.
     *
     * @return the default evictor
     */
    static Evictor shmem() {
        return ShmemEvictor.INSTANCE;
    }
}
