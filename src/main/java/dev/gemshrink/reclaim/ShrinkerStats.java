package dev.gemshrink.reclaim;

/**
 * A snapshot of one shrinker's activity since it was registered.
 *
 * @param name          the shrinker's name
 * @param scans         calls to scan
 * @param scanned       pages scanned
 * @param freed         pages freed
 * @param purged        pages purged
 * @param evicted       pages evicted to swap
 * @param skippedLocked pages skipped because their object was locked
 * @param stops         scans that returned STOP
 * @param deferred      work deferred to the next reclaim, in pages
 */
public record ShrinkerStats(String name, long scans, long scanned, long freed, long purged, long evicted,
        long skippedLocked, long stops, long deferred) {
}
