package dev.gemshrink.panthor;

import dev.gemshrink.core.Placement;
import dev.gemshrink.core.ReclaimStage;
import dev.gemshrink.core.ReclaimStages;
import dev.gemshrink.core.ShmemObject;

/**
 * The Panthor driver's reclaim stages, in scan order, and the classifier that derives a BO's stage from its facts.
 * An evictable BO (resident, unpinned, its sg table stored) is, from cheapest to costliest to reclaim:
 * <ol>
 * <li>{@value #UNUSED}: bound in no VM and not CPU-mapped;</li>
 * <li>{@value #MMAPPED}: bound in no VM, CPU-mapped by its client (the next CPU access faults it back in);</li>
 * <li>{@value #PRIVATE}: bound in exactly one VM; kept per {@link dev.gemshrink.core.ReclaimDomain}, so a BO created
 * private to a VM sits on that VM's list and VMs are visited least recently used first (a shareable BO bound in one
 * VM has the device as home); scanned only when the reclaim context may block, waiting briefly for a busy BO's
 * jobs;</li>
 * <li>{@value #SHARED}: bound in more than one VM; scanned only when the context may block, waiting as above.</li>
 * </ol>
 * The other placements have one stage each: {@code purgeable} (stays empty: BOs are never madvised),
 * {@code evicted-purgeable} (empty for the same reason), {@code evicted}, {@value #UNRECLAIMABLE} (pinned, exported,
 * or without a stored sg table, tiler heaps among them) and {@code unbacked} (no pages). Whether a BO is busy is not
 * a stage fact: the evictor answers it and the waiting stages wait for it.
 *
 * <p>Immutable and shared by every Panthor device.
 */
final class PanthorStages {
    /** The stage of evictable BOs bound nowhere and not CPU-mapped. */
    static final String UNUSED = "unused";
    /** The stage of evictable BOs bound nowhere but CPU-mapped. */
    static final String MMAPPED = "mmapped";
    /** The stage of evictable BOs bound in exactly one VM (per domain). */
    static final String PRIVATE = "private";
    /** The stage of evictable BOs bound in several VMs. */
    static final String SHARED = "shared";
    /** The stage of resident BOs reclaim never takes. */
    static final String UNRECLAIMABLE = "unreclaimable";

    /** The stages every Panthor device is built with. */
    static final ReclaimStages STAGES;
    private static final ReclaimStage UNUSED_STAGE;
    private static final ReclaimStage MMAPPED_STAGE;
    private static final ReclaimStage PRIVATE_STAGE;
    private static final ReclaimStage SHARED_STAGE;

    static {
        ReclaimStages.Builder b = ReclaimStages.builder();
        UNUSED_STAGE = b.stage(UNUSED, Placement.EVICTABLE);
        MMAPPED_STAGE = b.stage(MMAPPED, Placement.EVICTABLE);
        PRIVATE_STAGE = b.stage(PRIVATE, Placement.EVICTABLE, ReclaimStage.Option.PER_DOMAIN,
                ReclaimStage.Option.WAIT_FOR_IDLE);
        SHARED_STAGE = b.stage(SHARED, Placement.EVICTABLE, ReclaimStage.Option.WAIT_FOR_IDLE);
        b.stage("purgeable", Placement.PURGEABLE);
        b.stage("evicted-purgeable", Placement.EVICTED_PURGEABLE);
        b.stage("evicted", Placement.EVICTED);
        b.stage(UNRECLAIMABLE, Placement.PINNED);
        b.stage("unbacked", Placement.NONE);
        STAGES = b.build(PanthorStages::classify);
    }

    private PanthorStages() {
    }

    /**
     * The classifier, asked only about evictable objects (every other placement has one stage), resv held. An
     * object that is no BO (none is evictable today) counts as unused: its evictor decides anyway.
     */
    private static ReclaimStage classify(ShmemObject obj, Placement placement) {
        PanthorBo bo = PanthorBo.of(obj);
        if (bo == null) {
            return UNUSED_STAGE;
        }
        int vms = bo.boundVmCountLocked();
        if (vms > 1) {
            return SHARED_STAGE;
        }
        if (vms == 1) {
            return PRIVATE_STAGE;
        }
        return bo.isMmappedLocked() ? MMAPPED_STAGE : UNUSED_STAGE;
    }
}
