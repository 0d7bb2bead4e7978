package dev.gemshrink.stats;

import java.util.Locale;

/** Where a buffer object's contents are, as the {@code gems} table shows it. */
public enum BoState {
    /** Not reclaimed: its populated pages (possibly none yet, for a heap object) are in RAM. */
    RESIDENT,
    /** Evicted: its contents are in swap and come back byte-identical on the next use. */
    EVICTED,
    /** Purged after a DONTNEED madvise: its contents are gone for good. */
    PURGED,
    /**
     * Discarded: a driver whose objects may be created "discard on reclaim" (contents that need not survive, with
     * no madvise) dropped the contents instead of swapping them out; the next use finds fresh zeroed pages. The
     * Panfrost-like driver never reports it: it has madvise, so its dropped contents are {@link #PURGED}.
     */
    DISCARDED;

    /**
     * Returns the lowercase name used in the printed table and in traces.
     *
     * @return {@code resident}, {@code evicted}, {@code purged} or {@code discarded}
     */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
