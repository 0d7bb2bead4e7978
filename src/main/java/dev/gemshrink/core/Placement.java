package dev.gemshrink.core;

/**
 * Which of its device's LRU lists an object sits on, as implied by its state. The kernel's single "evictable" list
 * is kept here as two, {@link #PURGEABLE} and {@link #EVICTABLE}, so that the purge pass never walks WILLNEED
 * objects and the evict pass never walks DONTNEED ones, and both keep their LRU order; evicted objects are split the
 * same way, so that DONTNEED contents held in swap ({@link #EVICTED_PURGEABLE}) can be purged to make swap room.
 */
public enum Placement {
    /** On no list: no pages, purged, or freed. */
    NONE,
    /** Resident and purgeable (DONTNEED, unpinned, sg table stored, not exported). */
    PURGEABLE,
    /** Resident and evictable (WILLNEED, unpinned, sg table stored, not exported). */
    EVICTABLE,
    /** Contents in swap, WILLNEED (or otherwise not purgeable). */
    EVICTED,
    /** Contents in swap and purgeable (DONTNEED, sg table's use kept, not exported): purging frees swap only. */
    EVICTED_PURGEABLE,
    /** Resident but not reclaimable: pinned, exported, or without a stored sg table. */
    PINNED;

    /**
     * Whether objects on this list hold resident pages (the lists a reclaim policy other than LRU orders).
     *
     * @return true for PURGEABLE, EVICTABLE and PINNED
     */
    public boolean resident() {
        return this == PURGEABLE || this == EVICTABLE || this == PINNED;
    }
}
