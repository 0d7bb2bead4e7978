package dev.gemshrink.core;

import java.util.Objects;

/**
 * One reclaim stage of a device: the objects in one derived reclaim state, kept on one list (per
 * {@link ReclaimDomain} when the stage is {@link #perDomain()}), and how the shrinker reclaims them. A stage refines
 * one {@link Placement}, the core's own derivation from an object's pages, pins, madvise state and exports: the
 * placement decides what reclaim does to an object of the stage (purge, evict, purge from swap, or nothing) and
 * what it weighs; the stage adds the driver's facts (its GPU mappings, CPU mmaps, fences) that make some objects of
 * a placement costlier to reclaim than others. Stages are created by a {@link ReclaimStages.Builder}, in scan order:
 * the shrinker tries cheaper stages first.
 *
 * <p>Immutable and thread-safe.
 */
public final class ReclaimStage {
    private final ReclaimStages.Builder owner; // the set it was declared in (identity: its index means nothing elsewhere)
    private final String name;
    private final Placement placement;
    private final int index;
    private final boolean blocking;
    private final boolean waitsForIdle;
    private final boolean perDomain;

    ReclaimStage(ReclaimStages.Builder owner, String name, Placement placement, int index, boolean blocking,
            boolean waitsForIdle, boolean perDomain) {
        this.owner = owner;
        this.name = Objects.requireNonNull(name, "name");
        this.placement = Objects.requireNonNull(placement, "placement");
        this.index = index;
        this.blocking = blocking;
        this.waitsForIdle = waitsForIdle;
        this.perDomain = perDomain;
    }

    /** What a stage's options may say beyond its placement. */
    public enum Option {
        /**
         * The stage is scanned (and counted) only when the reclaim context may block
         * ({@link dev.gemshrink.reclaim.ShrinkControl#canBlock()}): its objects are costly to reclaim, for example
         * mapped in a GPU address space that would fault them back in.
         */
        BLOCKING,
        /**
         * Active reclaim: a busy object of the stage (its evictor answers BUSY and names what it waits for, see
         * {@link Evictor#idleWait}) is waited for, up to the device's fence wait, and then reclaimed; a longer wait
         * skips it. Only when the context may block; the wait holds no lock. Implies {@link #BLOCKING}.
         */
        WAIT_FOR_IDLE,
        /**
         * The stage keeps one list per {@link ReclaimDomain}: an object of the stage sits on its home domain's list,
         * and a scan visits the domains in LRU order (least recently used address space first).
         */
        PER_DOMAIN
    }

    /**
     * Returns the stage's name (unique within its set).
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the placement this stage refines: what reclaim does to its objects and what they weigh.
     *
     * @return the placement
     */
    public Placement placement() {
        return placement;
    }

    /**
     * Returns the stage's position in its set's scan order (0 is tried first).
     *
     * @return the index
     */
    public int index() {
        return index;
    }

    /**
     * Returns whether the shrinker reclaims objects of this stage at all: true for stages refining
     * {@link Placement#PURGEABLE}, {@link Placement#EVICTABLE} and {@link Placement#EVICTED_PURGEABLE}.
     *
     * @return true when the stage is scanned
     */
    public boolean reclaimable() {
        return placement == Placement.PURGEABLE || placement == Placement.EVICTABLE
                || placement == Placement.EVICTED_PURGEABLE;
    }

    /**
     * Returns whether the stage is scanned and counted only when the reclaim context may block.
     *
     * @return true for {@link Option#BLOCKING} or {@link Option#WAIT_FOR_IDLE} stages
     */
    public boolean blocking() {
        return blocking;
    }

    /**
     * Returns whether the scan waits for a busy object of this stage (active reclaim).
     *
     * @return true for {@link Option#WAIT_FOR_IDLE} stages
     */
    public boolean waitsForIdle() {
        return waitsForIdle;
    }

    /**
     * Returns whether the stage keeps one list per domain.
     *
     * @return true for {@link Option#PER_DOMAIN} stages
     */
    public boolean perDomain() {
        return perDomain;
    }

    boolean declaredIn(ReclaimStages.Builder set) {
        return owner == set;
    }

    @Override
    public String toString() {
        return name;
    }
}
