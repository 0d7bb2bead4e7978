package dev.gemshrink.reclaim;

/**
 * The arguments and results of one shrinker call (the kernel's {@code struct shrink_control}). The caller sets
 * {@link #nrToScan()}, {@link #canBlock()} and {@link #canSwap()}; the shrinker reports how much it looked at and
 * what it did.
 *
 * <p>Not thread-safe: one call, one thread.
 */
public final class ShrinkControl {
    private long nrToScan;
    private final boolean canBlock;
    private final boolean canSwap;
    private long nrScanned;
    private long nrPurged;
    private long nrEvicted;
    private long nrSkippedLocked;

    /**
     * Creates a control.
     *
     * @param nrToScan how many pages to free at most
     * @param canBlock whether the shrinker may block for a bounded time (it still never blocks on a lock)
     * @param canSwap  whether it may write pages to swap (false: purge only)
     */
    public ShrinkControl(long nrToScan, boolean canBlock, boolean canSwap) {
        this.nrToScan = nrToScan;
        this.canBlock = canBlock;
        this.canSwap = canSwap;
    }

    /**
     * Returns the target.
     *
     * @return pages to free at most
     */
    public long nrToScan() {
        return nrToScan;
    }

    /**
     * Sets the target for the next call.
     *
     * @param n pages
     */
    public void nrToScan(long n) {
        this.nrToScan = n;
    }

    /**
     * Returns whether the shrinker may block: wait, for a bounded time, for busy objects to become idle (never for a
     * lock). True for a background reclaimer, for direct reclaim from an allocation whose caller allows it and for
     * the debugfs-like count and scan; false for other direct reclaim, whose caller may hold a lock that the GPU job
     * behind a busy object needs to signal its fence (see {@link ShrinkerRegistry}).
     *
     * @return canBlock
     */
    public boolean canBlock() {
        return canBlock;
    }

    /**
     * Returns whether the shrinker may evict to swap.
     *
     * @return canSwap
     */
    public boolean canSwap() {
        return canSwap;
    }

    /**
     * Returns the pages the last call looked at.
     *
     * @return nrScanned
     */
    public long nrScanned() {
        return nrScanned;
    }

    /**
     * Reports the pages looked at (set by the shrinker).
     *
     * @param n pages scanned
     */
    public void nrScanned(long n) {
        this.nrScanned = n;
    }

    /**
     * Returns the pages purged by the last call.
     *
     * @return pages purged
     */
    public long nrPurged() {
        return nrPurged;
    }

    /**
     * Returns the pages evicted to swap by the last call.
     *
     * @return pages evicted
     */
    public long nrEvicted() {
        return nrEvicted;
    }

    /**
     * Returns the pages skipped because their object's lock was held (the kernel's {@code remaining}).
     *
     * @return pages skipped as locked
     */
    public long nrSkippedLocked() {
        return nrSkippedLocked;
    }

    /**
     * Reports what a call did (set by the shrinker; replaces earlier values).
     *
     * @param purged        pages purged
     * @param evicted       pages evicted
     * @param skippedLocked pages skipped because locked
     */
    public void report(long purged, long evicted, long skippedLocked) {
        this.nrPurged = purged;
        this.nrEvicted = evicted;
        this.nrSkippedLocked = skippedLocked;
    }
}
