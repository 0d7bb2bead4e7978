package dev.gemshrink.core;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A device's reclaim stages, in scan order (cheapest first), and the function that derives an object's stage from
 * its state. The core keeps one list per stage (per domain for a {@link ReclaimStage#perDomain()} stage), puts every
 * live object on exactly one of them (the list its derived stage implies; a freed object on none), counts each
 * stage's pages in O(1), and scans the reclaimable stages in order. The stage is never stored beside the facts it is
 * derived from: it is derived again after every state change, under the object's reservation lock, and again by the
 * scan before it reclaims an object.
 *
 * <p>A driver whose reclaim cost depends on its own facts (GPU mappings, CPU mmaps, fences) declares stages that
 * refine the core's placements, and calls {@link ShmemObject#restage()} whenever one of those facts changes.
 * {@link #standard()} is one stage per placement, which is the purge-then-evict shrinker of the plain core and of
 * the Panfrost driver.
 *
 * <p>Immutable and thread-safe.
 */
public final class ReclaimStages {
    private static final ReclaimStages STANDARD = standardStages();

    private final List<ReclaimStage> stages;
    private final Classifier classifier;
    private final ReclaimStage[] byPlacement; // the only stage of a placement, or null when it has several
    private final Builder declaredBy;

    private ReclaimStages(Builder b, Classifier classifier) {
        this.stages = List.copyOf(b.stages);
        this.classifier = classifier;
        this.declaredBy = b;
        this.byPlacement = new ReclaimStage[Placement.values().length];
        int[] seen = new int[byPlacement.length];
        for (ReclaimStage s : stages) {
            int p = s.placement().ordinal();
            byPlacement[p] = seen[p]++ == 0 ? s : null;
        }
    }

    /**
     * The function from an object's state to its stage. It runs with the object's reservation lock held (and must
     * read only facts guarded by it), must not block, and must return a stage of its own set whose placement is the
     * one given. It is asked only about placements that several stages refine (an object of any other placement
     * gets that placement's one stage); never about objects without pages ({@link Placement#NONE}), which have one.
     */
    @FunctionalInterface
    public interface Classifier {
        /**
         * Derives an object's stage.
         *
         * @param obj       the object, its reservation lock held, not freed
         * @param placement the placement the core derived from the object's own state
         * @return the object's stage, one refining {@code placement}
         */
        ReclaimStage stageOf(ShmemObject obj, Placement placement);
    }

    /**
     * Returns the stages of the plain core: one per placement ({@code unbacked}, {@code purgeable},
     * {@code evicted-purgeable}, {@code evictable}, {@code evicted}, {@code pinned}), scanned purgeable first, then
     * (when swapping is allowed) purgeable contents in swap when swap is short, then evictable.
     *
     * @return the standard stages
     */
    public static ReclaimStages standard() {
        return STANDARD;
    }

    private static ReclaimStages standardStages() {
        Builder b = builder();
        b.stage("purgeable", Placement.PURGEABLE);
        b.stage("evicted-purgeable", Placement.EVICTED_PURGEABLE);
        b.stage("evictable", Placement.EVICTABLE);
        b.stage("evicted", Placement.EVICTED);
        b.stage("pinned", Placement.PINNED);
        b.stage("unbacked", Placement.NONE);
        return b.build(null);
    }

    /**
     * Returns a builder for a driver's own stages.
     *
     * @return an empty builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the stages in scan order.
     *
     * @return every stage, cheapest first
     */
    public List<ReclaimStage> stages() {
        return stages;
    }

    /**
     * Returns the stage of a name.
     *
     * @param name a stage's name
     * @return the stage
     * @throws IllegalArgumentException when no stage has that name
     */
    public ReclaimStage stage(String name) {
        for (ReclaimStage s : stages) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no stage named " + name + " in " + this);
    }

    /**
     * Returns the one stage that refines a placement.
     *
     * @param placement a placement
     * @return its stage
     * @throws IllegalArgumentException when several stages refine it
     */
    public ReclaimStage stageFor(Placement placement) {
        ReclaimStage s = byPlacement[placement.ordinal()];
        if (s == null) {
            throw new IllegalArgumentException("several stages refine " + placement + " in " + this);
        }
        return s;
    }

    /**
     * Returns whether a stage belongs to this set.
     *
     * @param stage a stage
     * @return true when it was declared by this set's builder
     */
    public boolean contains(ReclaimStage stage) {
        return stage.declaredIn(declaredBy);
    }

    /** Derives an object's stage (resv held, not freed), checking what the classifier returns. */
    ReclaimStage derive(ShmemObject obj, Placement placement) {
        ReclaimStage only = byPlacement[placement.ordinal()];
        if (only != null) {
            return only;
        }
        ReclaimStage s = classifier.stageOf(obj, placement);
        if (s == null || !contains(s) || s.placement() != placement) {
            throw new IllegalStateException("the stage classifier returned " + s + " for " + obj.name()
                    + " whose placement is " + placement + ": it must return a stage of its set refining it");
        }
        return s;
    }

    @Override
    public String toString() {
        return "ReclaimStages" + stages;
    }

    /**
     * Declares stages in scan order, then builds the set with its classifier. Every placement needs at least one
     * stage; several stages may refine one placement, except {@link Placement#NONE}: an object without pages (a new
     * one included) has one stage, which the classifier is not asked for.
     */
    public static final class Builder {
        private final List<ReclaimStage> stages = new ArrayList<>();
        private boolean built;

        private Builder() {
        }

        /**
         * Declares the next stage in scan order.
         *
         * @param name      a unique name
         * @param placement the placement it refines
         * @param options   its options
         * @return the stage, for the classifier to return
         * @throws IllegalArgumentException when the name is taken, or an option does not fit the placement
         * @throws IllegalStateException    when the set was built already
         */
        public ReclaimStage stage(String name, Placement placement, ReclaimStage.Option... options) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(placement, "placement");
            if (built) {
                throw new IllegalStateException("the stages were built already");
            }
            for (ReclaimStage s : stages) {
                if (s.name().equals(name)) {
                    throw new IllegalArgumentException("two stages named " + name);
                }
            }
            Set<ReclaimStage.Option> o = options.length == 0 ? EnumSet.noneOf(ReclaimStage.Option.class)
                    : EnumSet.of(options[0], options);
            boolean waits = o.contains(ReclaimStage.Option.WAIT_FOR_IDLE);
            ReclaimStage s = new ReclaimStage(this, name, placement, stages.size(),
                    waits || o.contains(ReclaimStage.Option.BLOCKING), waits,
                    o.contains(ReclaimStage.Option.PER_DOMAIN));
            if ((s.blocking() || s.perDomain()) && !s.reclaimable()) {
                throw new IllegalArgumentException("stage " + name + " refines " + placement
                        + ", which reclaim never takes: options " + o + " mean nothing for it");
            }
            stages.add(s);
            return s;
        }

        /**
         * Builds the set.
         *
         * @param classifier the function from an object's state to its stage; null when every placement has one
         *                   stage (each object then gets its placement's stage)
         * @return the stages
         * @throws IllegalArgumentException when a placement has no stage, or several and no classifier is given
         */
        public ReclaimStages build(Classifier classifier) {
            for (Placement p : Placement.values()) {
                long n = stages.stream().filter(s -> s.placement() == p).count();
                if (n == 0) {
                    throw new IllegalArgumentException("no stage refines " + p);
                }
                if (n > 1 && p == Placement.NONE) {
                    throw new IllegalArgumentException(n + " stages refine " + p + ": objects without pages have one");
                }
                if (n > 1 && classifier == null) {
                    throw new IllegalArgumentException(n + " stages refine " + p + ": a classifier must choose");
                }
            }
            built = true;
            return new ReclaimStages(this, classifier);
        }
    }
}
