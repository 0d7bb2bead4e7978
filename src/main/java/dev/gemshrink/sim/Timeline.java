package dev.gemshrink.sim;

import dev.gemshrink.reclaim.ShrinkerStats;
import java.util.ArrayList;
import java.util.List;

/**
 * Samples of the device's memory over a {@link Simulation}: resident, swapped and free pages, each client's memory,
 * and the cumulative counts of shrinker scans, pages purged and evicted, and ENOMEMs (so the activity between any
 * two samples is the difference of their counts).
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
     * @param enomem   calls and jobs that failed with ENOMEM so far
     * @param clients  the memory of each open client
     */
    public record Sample(double x, long resident, long swapped, long free, long scans, long purged, long evicted,
            long enomem, List<ClientUsage> clients) {
        /**
         * Copies the client list.
         *
         * @param x        see the record component
         * @param resident see the record component
         * @param swapped  see the record component
         * @param free     see the record component
         * @param scans    see the record component
         * @param purged   see the record component
         * @param evicted  see the record component
         * @param enomem   see the record component
         * @param clients  see the record component
         */
        public Sample {
            clients = List.copyOf(clients);
        }
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
        SimDriver dev = ctx.dev;
        ShrinkerStats s = ctx.shrinker.stats();
        Sample sample = new Sample(x, dev.gem().pool().usedPages(), dev.gem().swap().usedPages(),
                dev.gem().pool().freePages(), s.scans(), s.purged(), s.evicted(), ctx.enomem.sum(),
                dev.clientUsage());
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
}
