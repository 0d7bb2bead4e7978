package dev.gemshrink.sim;

import dev.gemshrink.panfrost.PanfrostDevice;
import dev.gemshrink.reclaim.ShrinkerStats;
import java.util.ArrayList;
import java.util.List;

/**
 * Samples of the device's memory over a {@link Simulation} (resident, swapped and free pages, and the shrinker's
 * cumulative activity), and the reclaim events derived from them: each interval in which the shrinker scanned.
 */
public final class Timeline {
    /**
     * One sample.
     *
     * @param x        seconds since the start, or operations in the deterministic mode
     * @param resident pages of RAM holding BO contents
     * @param swapped  pages held in swap
     * @param free     RAM pages not in use
     * @param scans    shrinker scans so far
     * @param purged   pages purged by the shrinker so far
     * @param evicted  pages evicted by the shrinker so far
     */
    public record Sample(double x, long resident, long swapped, long free, long scans, long purged, long evicted) {
    }

    /** The shrinker ran between the previous sample and this one. */
    record ReclaimEvent(double x, long scans, long purged, long evicted) {
    }

    private final String xLabel;
    private final long ramPages;
    private final List<Sample> samples = new ArrayList<>(); // guarded by this

    Timeline(String xLabel, long ramPages) {
        this.xLabel = xLabel;
        this.ramPages = ramPages;
    }

    /**
     * Returns what the samples' x coordinate counts.
     *
     * @return {@code seconds}, or {@code operations} in the deterministic mode
     */
    public String xLabel() {
        return xLabel;
    }

    /**
     * Returns the RAM budget of the device.
     *
     * @return pages
     */
    public long ramPages() {
        return ramPages;
    }

    /** Takes a sample now. */
    void sample(double x, SimContext ctx) {
        PanfrostDevice dev = ctx.dev;
        ShrinkerStats s = ctx.shrinker.stats();
        Sample sample = new Sample(x, dev.gem().pool().usedPages(), dev.gem().swap().usedPages(),
                dev.gem().pool().freePages(), s.scans(), s.purged(), s.evicted());
        synchronized (this) {
            samples.add(sample);
        }
    }

    /**
     * Returns the samples so far.
     *
     * @return the samples, in order (a copy)
     */
    public synchronized List<Sample> samples() {
        return List.copyOf(samples);
    }

    /**
     * Returns the intervals in which the shrinker scanned, at the sample that ends them.
     *
     * @return the events, in order
     */
    List<ReclaimEvent> events() {
        List<Sample> all = samples();
        List<ReclaimEvent> out = new ArrayList<>();
        for (int i = 1; i < all.size(); i++) {
            Sample a = all.get(i - 1);
            Sample b = all.get(i);
            if (b.scans() > a.scans()) {
                out.add(new ReclaimEvent(b.x(), b.scans() - a.scans(), b.purged() - a.purged(),
                        b.evicted() - a.evicted()));
            }
        }
        return out;
    }
}
