package dev.gemshrink.sim;

import dev.gemshrink.stats.GemsTable;
import java.util.List;

/**
 * What a {@link Simulation} found: the summary (counts, and wall-clock timings apart), the memory timeline, and the
 * problems. Immutable.
 */
public final class SimulationResult {
    private final SimulationConfig config;
    private final Summary summary;
    private final Timeline timeline;
    private final long integrityFailures;
    private final long invariantViolations;
    private final boolean stoppedEarly;
    private final long elapsedNanos;
    private final long[] scanNanos;
    private final GemsTable gemsAtEnd;

    SimulationResult(SimulationConfig config, Summary summary, Timeline timeline, long integrityFailures,
            long invariantViolations, boolean stoppedEarly, long elapsedNanos, long[] scanNanos,
            GemsTable gemsAtEnd) {
        this.config = config;
        this.summary = summary;
        this.timeline = timeline;
        this.integrityFailures = integrityFailures;
        this.invariantViolations = invariantViolations;
        this.stoppedEarly = stoppedEarly;
        this.elapsedNanos = elapsedNanos;
        this.scanNanos = scanNanos.clone();
        this.gemsAtEnd = gemsAtEnd;
    }

    /**
     * Returns the device's gems table as the workers left it, after they stopped and before their clients were
     * closed: one row per BO still live, and the footer (total, reclaimable, pages the last scan reclaimed). Empty
     * (no rows, nothing reclaimed) on {@link Driver#PANTHOR}, which has no gems table.
     *
     * @return the table
     */
    public GemsTable gemsAtEnd() {
        return gemsAtEnd;
    }

    /**
     * Returns what ran.
     *
     * @return the configuration
     */
    public SimulationConfig config() {
        return config;
    }

    /**
     * Returns the summary table and the timings.
     *
     * @return the summary
     */
    public Summary summary() {
        return summary;
    }

    /**
     * Returns the refaults of the run under its {@link SimulationConfig#policy() policy}: the pages read back from
     * swap. Swap is transparent (only eviction writes to it), so every page read back had been evicted; a better
     * victim order evicts fewer pages that are used again, and has fewer refaults.
     *
     * @return the summary's {@value Summary#REFAULTS} row
     */
    public long refaults() {
        return summary.count(Summary.REFAULTS);
    }

    /**
     * Returns the memory samples of the run.
     *
     * @return the timeline
     */
    public Timeline timeline() {
        return timeline;
    }

    /**
     * Returns how many reads returned bytes other than those written (CPU or GPU).
     *
     * @return the integrity failures
     */
    public long integrityFailures() {
        return integrityFailures;
    }

    /**
     * Returns how many invariant violations were found (checker findings, unexpected errnos, crashed or stuck
     * workers, anything left after closing everything).
     *
     * @return the violations
     */
    public long invariantViolations() {
        return invariantViolations;
    }

    /**
     * Returns the first problems found, each a line of text.
     *
     * @return at most 20 messages
     */
    public List<String> failures() {
        return summary.failures();
    }

    /**
     * Returns whether the run found no problem.
     *
     * @return true when there was no integrity failure and no invariant violation
     */
    public boolean ok() {
        return integrityFailures == 0 && invariantViolations == 0;
    }

    /**
     * Returns whether {@link Simulation#stop()} ended the run before its time or budget.
     *
     * @return true when stopped early
     */
    public boolean stoppedEarly() {
        return stoppedEarly;
    }

    /**
     * Returns how long the workers ran.
     *
     * @return wall-clock nanoseconds
     */
    public long elapsedNanos() {
        return elapsedNanos;
    }

    /**
     * Returns the duration of every scan of the device's shrinker.
     *
     * @return nanoseconds, sorted (a copy)
     */
    public long[] scanNanos() {
        return scanNanos.clone();
    }
}
