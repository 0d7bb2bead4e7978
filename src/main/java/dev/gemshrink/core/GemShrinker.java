package dev.gemshrink.core;

import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.reclaim.RateLimiter;
import dev.gemshrink.reclaim.ReclaimOrder;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A device's shrinker (docs/kernel-model.md section 3): count is the pages on the purgeable and evictable LRUs (the
 * latter only while swap has room); scan purges DONTNEED objects least recently used first, then, if still short and
 * swapping is allowed, evicts idle WILLNEED ones, stopping once the target is met. Whole objects only.
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
        long n = device.lru(Placement.PURGEABLE).pages();
        if (sc.canSwap()) {
            // Purging DONTNEED contents held in swap makes room for evictions: that room counts too.
            long swapFree = swapFree() + device.lru(Placement.EVICTED_PURGEABLE).pages();
            n += Math.max(0, Math.min(device.lru(Placement.EVICTABLE).pages(), swapFree));
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
            return scanPasses(sc);
        } finally {
            device.drainMoves();
        }
    }

    private long scanPasses(ShrinkControl sc) {
        Pass p = new Pass(sc.nrToScan());
        scanList(device.lru(Placement.PURGEABLE), Mode.PURGE, p);
        if (p.freed < p.target && sc.canSwap()) {
            if (swapFree() < evictWanted(p)) {
                scanList(device.lru(Placement.EVICTED_PURGEABLE), Mode.PURGE_SWAPPED, p);
            }
            if (device.swap().hasRoom(1)) {
                scanList(device.lru(Placement.EVICTABLE), Mode.EVICT, p);
            }
        }
        sc.nrScanned(p.scanned);
        sc.report(p.purged, p.evicted, p.remaining);
        if (p.purged > 0 && purgeLog.tryAcquire()) {
            LOG.info("Purging {} bytes", p.purged << dev.gemshrink.memory.PagePool.PAGE_SHIFT);
        }
        return p.freed > 0 ? p.freed : STOP;
    }

    private long swapFree() {
        return device.swap().capacityPages() - device.swap().usedPages();
    }

    /** The swap room the evict pass could use: what is still missing, as far as there is evictable memory. */
    private long evictWanted(Pass p) {
        return Math.min(p.target - p.freed, device.lru(Placement.EVICTABLE).pages());
    }

    /** The three passes, in the order a scan runs them. */
    private enum Mode {
        /** Purge resident DONTNEED objects: frees RAM. */
        PURGE,
        /** Purge DONTNEED objects whose contents are in swap: frees swap, so the evict pass has room. */
        PURGE_SWAPPED,
        /** Evict idle WILLNEED objects to swap: frees RAM. */
        EVICT
    }

    /** What one scan did so far. */
    private static final class Pass {
        final long target;
        long freed;
        long scanned;
        long purged;
        long evicted;
        long remaining;

        Pass(long target) {
            this.target = target;
        }
    }

    private boolean needMore(Mode mode, Pass p) {
        return mode == Mode.PURGE_SWAPPED ? swapFree() < evictWanted(p) : p.freed < p.target;
    }

    /**
     * One pass over one list. Whatever happens (an evictor throwing an {@link Error} included), the objects it
     * parked go back on the list before the throwable leaves: none is stranded off every LRU.
     */
    private void scanList(GemLru<ShmemObject> lru, Mode mode, Pass p) {
        if (lru.order() != null) {
            scanOrder(lru, lru.order(), mode, p);
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
                    reclaimOne(obj, pages, mode, p);
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
    private void scanOrder(GemLru<ShmemObject> lru, ReclaimOrder order, Mode mode, Pass p) {
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
                    reclaimed = reclaimOne(obj, pages, mode, p);
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

    /** Try-locks and reclaims one object; true when the permit freed its pages. */
    private boolean reclaimOne(ShmemObject obj, long pages, Mode mode, Pass p) {
        // tryLock, never lock: reclaim may run inside an allocation whose caller holds reservation locks.
        if (!obj.resv().tryLock()) {
            p.remaining += pages;
            return false;
        }
        try {
            if (obj.isFreed()) {
                return false;
            }
            ReclaimPermit permit;
            try {
                permit = obj.callEvictor(mode != Mode.EVICT);
            } catch (dev.gemshrink.GemException e) {
                LOG.debug("evictor of {} refused: {}", obj.name(), e.getMessage());
                return false;
            } catch (RuntimeException e) {
                LOG.warn("evictor of {} failed; skipping it", obj.name(), e);
                return false;
            }
            // The pages the permit freed are the truth: an evictor cannot over- or under-report.
            int freed = permit.freedPages();
            p.freed += freed;
            if (mode == Mode.EVICT) {
                p.evicted += freed;
            } else {
                p.purged += freed;
            }
            return freed > 0;
        } finally {
            obj.resv().unlock();
        }
    }
}
