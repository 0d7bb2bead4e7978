package dev.gemshrink.core;

import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.reclaim.RateLimiter;
import dev.gemshrink.reclaim.ReclaimOrder;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A device's shrinker (docs/kernel-model.md section 3), scanning the device's {@link ReclaimStages} in order,
 * cheapest first, and skipping a {@link ReclaimStage#blocking() blocking} stage unless the context may block. A
 * stage's placement decides what it does: purge stages purge DONTNEED objects while short of the target; when
 * swapping is allowed and still short, swap-purge stages purge DONTNEED contents held in swap while swap lacks the
 * room the evict stages want, and evict stages evict idle WILLNEED objects (or discard them, as their evictor
 * decides) while swap has room. Whole objects only; the count is the purge stages' pages plus the evict stages'
 * pages as far as swap has room. With the standard stages this is the purge pass and then the evict pass.
 *
 * <p>Under the object's lock the scan derives its stage again and skips an object that refines another placement
 * now or became costlier (a later stage): its buffered move takes it to its own list. In a
 * {@link ReclaimStage#waitsForIdle() waiting} stage a busy object (its evictor answered BUSY and named an
 * {@link IdleWait}) is waited for with no lock held, up to the device's fence wait, and tried once more.
 *
 * <p>The scan follows the kernel's {@code drm_gem_lru_scan}: it parks the head object on a private "still in LRU"
 * list, drops the LRU lock, try-locks the object's reservation lock (a lock the calling thread already holds fails
 * too, since reservation locks are not reentrant), calls the object's {@link Evictor}, and at the end splices the
 * objects it skipped back at the tail. Under a reclaim policy other than LRU the purge and evict passes take their
 * candidates from the policy's {@link ReclaimOrder} instead of the list's head (the swap-purge pass stays in LRU
 * order: the policies order resident objects); the core still decides what each list holds, so the policy only
 * chooses among objects the core found reclaimable, and the evictor still re-checks each under its lock.
 *
 * <p>State changes record their LRU moves in a buffer ({@link LruMoves}); a scan applies them first, so it walks
 * the lists exactly as the moves made them, and again at the end, so what it reclaimed has left its list. The count
 * reads the lists' totals after applying the buffered moves when the LRU lock is free; when another thread holds it,
 * the count may still see the moves buffered meanwhile undone (at most the buffer's capacity of objects).
 *
 * <p>Why a freed object can never be touched: the private list is a {@link GemLru} sharing the device's LRU lock, and
 * an object's list membership is recorded in the object itself, so {@link ShmemObject#free()} (which holds the
 * reservation lock and updates placement) unlinks the object from whichever list holds it, the private one
 * included. The scanner skips an object already marked freed while it holds the LRU lock (the kernel's "take a
 * reference only if not being freed"), and re-checks after its try-lock succeeds; and the Java reference it holds
 * keeps the memory valid, so there is no use-after-free to race with.
 */
final class GemShrinker implements Shrinker {
    private static final Logger LOG = LoggerFactory.getLogger(GemShrinker.class);

    private final GemDevice device;
    private final String name;
    private final RateLimiter purgeLog = RateLimiter.kernelDefault();

    GemShrinker(GemDevice device, String name) {
        this.device = device;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long count(ShrinkControl sc) {
        device.moves().tryDrain();
        long purge = 0;
        long evict = 0;
        long swapPurge = 0;
        for (ReclaimStage st : device.reclaimStages().stages()) {
            if (!st.reclaimable() || (st.blocking() && !sc.canBlock())) {
                continue;
            }
            long pages = device.total(st).pages();
            switch (st.placement()) {
                case PURGEABLE -> purge += pages;
                case EVICTABLE -> evict += pages;
                default -> swapPurge += pages;
            }
        }
        long n = purge;
        if (sc.canSwap()) {
            // Purging DONTNEED contents held in swap makes room for evictions: that room counts too.
            n += Math.max(0, Math.min(evict, swapFree() + swapPurge));
        }
        return n;
    }

    @Override
    public void applyDeferred() {
        device.moves().tryDrain();
    }

    @Override
    public long scan(ShrinkControl sc) {
        // The buffered LRU moves first, so the passes walk exact lists; and again at the end, so the moves of what
        // this scan reclaimed are on the lists (and in the counts) when it returns.
        device.drainMoves();
        try {
            return scanStages(sc);
        } finally {
            device.drainMoves();
        }
    }

    /**
     * The stages in scan order, each reclaimable one that the context allows: a purge stage while short, then, when
     * swapping is allowed and still short, a swap-purge stage while swap has less room than the evictions want, and
     * an evict stage while swap has room.
     */
    private long scanStages(ShrinkControl sc) {
        Pass p = new Pass(sc);
        for (ReclaimStage st : device.reclaimStages().stages()) {
            if (!st.reclaimable() || (st.blocking() && !sc.canBlock())) {
                continue;
            }
            Mode mode = Mode.of(st.placement());
            if (mode != Mode.PURGE && (p.freed >= p.target || !sc.canSwap()
                    || (mode == Mode.PURGE_SWAPPED ? swapFree() >= evictWanted(p) : !device.swap().hasRoom(1)))) {
                continue;
            }
            scanStage(st, mode, p);
        }
        sc.nrScanned(p.scanned);
        sc.report(p.purged, p.evicted, p.remaining);
        if (p.purged > 0 && purgeLog.tryAcquire()) {
            LOG.info("Purging {} bytes", p.purged << dev.gemshrink.memory.PagePool.PAGE_SHIFT);
        }
        return p.freed > 0 ? p.freed : STOP;
    }

    /**
     * One stage: the device's list of it, then, for a per-domain stage, each domain's list, least recently used
     * domain first (the order when the stage starts). A domain whose lists the stage emptied leaves the domain LRU; one
     * that a move applied meanwhile unlinked while all its objects were parked (its lists looked empty) is linked again.
     */
    private void scanStage(ReclaimStage st, Mode mode, Pass p) {
        scanList(device.domain().lists[st.index()], st, mode, p);
        if (!st.perDomain()) {
            return;
        }
        List<ReclaimDomain> domains;
        ReentrantLock lock = device.lruLock();
        lock.lock();
        try {
            domains = device.domainsLocked();
        } finally {
            lock.unlock();
        }
        for (ReclaimDomain d : domains) {
            if (!needMore(mode, p)) {
                return;
            }
            try {
                scanList(d.lists[st.index()], st, mode, p);
            } finally {
                lock.lock();
                try {
                    device.settleDomainAfterScan(d);
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    private long swapFree() {
        return device.swap().capacityPages() - device.swap().usedPages();
    }

    /** The swap room the evict stages could use: what is still missing, as far as there is evictable memory. */
    private long evictWanted(Pass p) {
        long evictable = 0;
        for (ReclaimStage st : device.reclaimStages().stages()) {
            if (st.placement() == Placement.EVICTABLE && (!st.blocking() || p.sc.canBlock())) {
                evictable += device.total(st).pages();
            }
        }
        return Math.min(p.target - p.freed, evictable);
    }

    /** What a stage's placement makes its scan do. */
    private enum Mode {
        /** Purge resident DONTNEED objects: frees RAM. */
        PURGE,
        /** Purge DONTNEED objects whose contents are in swap: frees swap, so the evict stages have room. */
        PURGE_SWAPPED,
        /** Evict idle WILLNEED objects to swap: frees RAM. */
        EVICT;

        static Mode of(Placement p) {
            return p == Placement.PURGEABLE ? PURGE : p == Placement.EVICTED_PURGEABLE ? PURGE_SWAPPED : EVICT;
        }
    }

    /** What one scan did so far. */
    private static final class Pass {
        final ShrinkControl sc;
        final long target;
        long freed;
        long scanned;
        long purged;
        long evicted;
        long remaining;

        Pass(ShrinkControl sc) {
            this.sc = sc;
            this.target = sc.nrToScan();
        }
    }

    private boolean needMore(Mode mode, Pass p) {
        return mode == Mode.PURGE_SWAPPED ? swapFree() < evictWanted(p) : p.freed < p.target;
    }

    /**
     * One pass over one list. Whatever happens (an evictor throwing an {@link Error} included), the objects it
     * parked go back on the list before the throwable leaves: none is stranded off every LRU.
     */
    private void scanList(GemLru<ShmemObject> lru, ReclaimStage st, Mode mode, Pass p) {
        if (lru.order() != null) {
            scanOrder(lru, lru.order(), st, mode, p);
            return;
        }
        ReentrantLock lock = lru.lock();
        GemLru<ShmemObject> stillInLru = new GemLru<>("still-in-lru", lock);
        lock.lock();
        try {
            // Each object is looked at once per pass even if concurrent state changes move it back to the tail.
            int budget = lru.size();
            ShmemObject obj;
            while (needMore(mode, p) && budget-- > 0 && (obj = lru.head()) != null) {
                long pages = obj.lruWeight();
                stillInLru.moveTail(obj, pages);
                p.scanned += pages;
                if (obj.isFreed()) {
                    continue; // free() holds its lock and will unlink it from stillInLru
                }
                lock.unlock();
                try {
                    reclaimOne(obj, pages, st, mode, p);
                } finally {
                    lock.lock();
                }
            }
        } finally {
            try {
                // The pass's own moves first (an object whose reclaim failed goes to the tail), then the parked
                // objects: the order the moves and the splice would have made one by one.
                device.moves().drainLocked(null);
            } finally {
                try {
                    lru.spliceTail(stillInLru);
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /**
     * One pass over a list whose objects a reclaim policy orders: the policy offers the list's objects in its order
     * (stepping over objects of other lists) and keeps each where its offer left it, so nothing is parked; an
     * object freed meanwhile leaves the order through {@link ShmemObject#free()}'s placement move, as it leaves the
     * list. Each offered object stays marked until the pass ends, so the pass looks at each at most once (and a
     * busy one cannot hide the others); whatever happens, the marks are cleared before the pass returns.
     */
    private void scanOrder(GemLru<ShmemObject> lru, ReclaimOrder order, ReclaimStage st, Mode mode, Pass p) {
        ReentrantLock lock = lru.lock();
        List<ShmemObject> offered = new ArrayList<>();
        lock.lock();
        try {
            int budget = lru.size();
            ShmemObject obj;
            while (needMore(mode, p) && budget-- > 0 && (obj = order.nextVictim(lru)) != null) {
                offered.add(obj);
                long pages = obj.lruWeight();
                p.scanned += pages;
                if (obj.isFreed()) {
                    continue;
                }
                lock.unlock();
                boolean reclaimed;
                try {
                    reclaimed = reclaimOne(obj, pages, st, mode, p);
                } finally {
                    lock.lock();
                }
                if (reclaimed) {
                    order.reclaimed(obj);
                }
            }
        } finally {
            try {
                offered.forEach(order::offerDone);
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Reclaims one object of stage {@code st}: try-locks it and calls its evictor. When the evictor answers busy, the
     * stage waits for idle and the context may block, the object's {@link IdleWait} (taken under its lock) is
     * awaited with no lock held, up to the device's fence wait, and the object is tried once more. True when its
     * pages were freed.
     */
    private boolean reclaimOne(ShmemObject obj, long pages, ReclaimStage st, Mode mode, Pass p) {
        Attempt a = attempt(obj, pages, st, mode, p);
        if (a.waitFor == null) {
            return a.freed;
        }
        // No lock is held here (the LRU lock was dropped for the object, its reservation lock just now): the work
        // the wait is for may need either to finish.
        try {
            if (!a.waitFor.await(device.fenceWaitNanos(), TimeUnit.NANOSECONDS)) {
                p.remaining += pages; // skipped: busy for longer than the device waits
                return false;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (RuntimeException e) {
            LOG.warn("waiting for {} to be idle failed; skipping it", obj.name(), e);
            p.remaining += pages;
            return false;
        }
        return attempt(obj, pages, st, null, p).freed;
    }

    /**
     * What one try did: whether it freed the object's pages, or what the object waits for. A class, not a record:
     * the model checker's instrumentation cannot take field offsets of records.
     */
    private static final class Attempt {
        static final Attempt NOTHING = new Attempt(false, null);
        static final Attempt FREED = new Attempt(true, null);

        final boolean freed;
        final IdleWait waitFor;

        Attempt(boolean freed, IdleWait waitFor) {
            this.freed = freed;
            this.waitFor = waitFor;
        }
    }

    /**
     * One try under the object's reservation lock, taken by try-lock. The stage is derived again first: an object
     * that became costlier than {@code st} (a later stage), or now refines another placement, is skipped and left
     * for its own list. {@code mode} null: the retry after a wait, which does not wait again.
     */
    private Attempt attempt(ShmemObject obj, long pages, ReclaimStage st, Mode mode, Pass p) {
        // tryLock, never lock: reclaim may run inside an allocation whose caller holds reservation locks.
        if (!obj.resv().tryLock()) {
            p.remaining += pages;
            return Attempt.NOTHING;
        }
        try {
            if (obj.isFreed()) {
                return Attempt.NOTHING;
            }
            ReclaimStage now = obj.stage();
            if (now == null || now.placement() != st.placement() || now.index() > st.index()) {
                return Attempt.NOTHING;
            }
            Mode m = Mode.of(st.placement());
            ReclaimPermit permit;
            try {
                permit = obj.callEvictor(m != Mode.EVICT);
            } catch (dev.gemshrink.GemException e) {
                LOG.debug("evictor of {} refused: {}", obj.name(), e.getMessage());
                return Attempt.NOTHING;
            } catch (RuntimeException e) {
                LOG.warn("evictor of {} failed; skipping it", obj.name(), e);
                return Attempt.NOTHING;
            }
            // The pages the permit freed are the truth: an evictor cannot over- or under-report.
            int freed = permit.freedPages();
            p.freed += freed;
            if (m == Mode.EVICT) {
                p.evicted += freed;
            } else {
                p.purged += freed;
            }
            if (freed > 0) {
                return Attempt.FREED;
            }
            if (mode != null && !permit.isUsed() && st.waitsForIdle() && p.sc.canBlock()
                    && device.fenceWaitNanos() > 0) {
                IdleWait w = obj.evictor().idleWait(obj);
                return w == null ? Attempt.NOTHING : new Attempt(false, w);
            }
            return Attempt.NOTHING;
        } finally {
            obj.resv().unlock();
        }
    }
}
