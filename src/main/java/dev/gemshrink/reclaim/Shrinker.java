package dev.gemshrink.reclaim;

/**
 * Something that can give memory back (the kernel's {@code struct shrinker}). Registered with a
 * {@link ShrinkerRegistry}, which calls it under memory pressure.
 */
public interface Shrinker {
    /** What {@link #scan} returns when it can make no progress now. */
    long STOP = -1;
    /** The default cost of recreating an object, as in Linux ({@code DEFAULT_SEEKS}). */
    int DEFAULT_SEEKS = 2;

    /**
     * Returns the shrinker's name (its debugfs directory name).
     *
     * @return a unique name
     */
    String name();

    /**
     * Estimates how many pages could be freed now. Must be O(1), lock-free and never block; may be approximate.
     *
     * @param sc the control
     * @return pages freeable; 0 means empty (nothing to do)
     */
    long count(ShrinkControl sc);

    /**
     * Frees up to {@code sc.nrToScan()} pages. Never blocks on a lock another thread holds. Reports what it looked
     * at with {@link ShrinkControl#nrScanned(long)}.
     *
     * @param sc the control
     * @return pages freed, or {@link #STOP} when no progress is possible (any negative value is read as STOP)
     */
    long scan(ShrinkControl sc);

    /**
     * Applies work the shrinker's users deferred to it (for example LRU moves they buffered instead of taking its
     * lock), so that its next count and scan start from exact state. Called by a background reclaimer on each
     * wake-up, pressure or not; must never block on a lock another thread holds. The default does nothing.
     */
    default void applyDeferred() {
    }

    /**
     * Returns how costly the freed memory is to recreate; higher means scanned less.
     *
     * @return seeks, default {@link #DEFAULT_SEEKS}
     */
    default int seeks() {
        return DEFAULT_SEEKS;
    }

    /**
     * Returns how many pages to ask for per scan call.
     *
     * @return batch size; 0 for the default (128)
     */
    default long batch() {
        return 0;
    }
}
