package dev.gemshrink.reclaim;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link Shrinker} decorator for the retry rule of Panthor's shrinker: a scan that frees nothing answers 0 ("no
 * progress this time, ask again") for at most {@code zeroScans} scans in a row, and {@link Shrinker#STOP} after that,
 * until a scan frees something again. The wrapped shrinker's own STOP counts as freeing nothing. Count, name, seeks
 * and batch are the wrapped shrinker's.
 *
 * <p>Thread safety: the run of empty scans is one atomic counter; concurrent scans each count once.
 */
public final class NoProgressLimit extends ForwardingShrinker {
    private final int zeroScans;
    private final AtomicInteger emptyInARow = new AtomicInteger();

    /**
     * Wraps a shrinker.
     *
     * @param inner     the shrinker that does the work
     * @param zeroScans how many scans in a row that free nothing answer 0 before the next ones answer STOP (>= 0)
     * @throws IllegalArgumentException when zeroScans is negative
     */
    public NoProgressLimit(Shrinker inner, int zeroScans) {
        super(inner);
        if (zeroScans < 0) {
            throw new IllegalArgumentException("zeroScans must be >= 0: " + zeroScans);
        }
        this.zeroScans = zeroScans;
    }

    /**
     * Returns how many scans in a row have freed nothing.
     *
     * @return the current run of empty scans
     */
    public int emptyScansInARow() {
        return emptyInARow.get();
    }

    @Override
    public long scan(ShrinkControl sc) {
        long freed = inner().scan(sc);
        if (freed > 0) {
            emptyInARow.set(0);
            return freed;
        }
        int run = emptyInARow.updateAndGet(n -> n == Integer.MAX_VALUE ? n : n + 1); // saturates
        return run <= zeroScans ? 0 : STOP;
    }

    @Override
    public String toString() {
        return "NoProgressLimit[" + name() + ", " + zeroScans + " empty scans]";
    }
}
