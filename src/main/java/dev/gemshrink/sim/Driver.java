package dev.gemshrink.sim;

import java.util.Locale;

/** The driver a {@link Simulation} runs its workload on. */
public enum Driver {
    /** The Panfrost-like driver: madvise, per-job BO lists, heap BOs grown by GPU faults. */
    PANFROST,
    /**
     * The Panthor-like driver: VMs with explicit binding, transparent reclaim (no madvise), discard-on-reclaim BOs,
     * tiler heaps that never wait for reclaim.
     */
    PANTHOR;

    /**
     * Returns the driver's name as the command line spells it.
     *
     * @return {@code panfrost} or {@code panthor}
     */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
