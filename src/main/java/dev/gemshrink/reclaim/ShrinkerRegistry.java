package dev.gemshrink.reclaim;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.LockValidator;
import dev.gemshrink.locking.TrackedLock;
import dev.gemshrink.memory.ReclaimHook;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The shrinkers of a system and the reclaim that drives them, the way Linux's {@code shrink_slab} does
 * (docs/kernel-model.md section 4). Each shrinker gets {@code delta = (freeable >> priority) * 4 / seeks} pages of work
 * plus what was deferred earlier, capped at twice what it can free, in batches (default 128); unfinished work is
 * deferred to the next call. One deliberate difference: a scan call never asks for more than the reclaim's
 * remaining target, so a small allocation does not empty a small shrinker. Direct reclaim ({@link #reclaim(long,
 * boolean, boolean)}) starts at priority 12 and lowers it until enough is freed.
 *
 * <p>Blocking: every call tells the shrinker in {@link ShrinkControl#canBlock()} whether it may wait (for a bounded
 * time, for busy objects' fences; never for a lock). It is true for a {@link BackgroundReclaimer}, for direct reclaim
 * from an allocation whose caller allows blocking ({@link #reclaimMayBlock}, called by
 * {@link dev.gemshrink.memory.PagePool#allocateMayBlock}), and for the debugfs-like {@link Registration#count()} and
 * {@link Registration#scan(long)} (a write to a debugfs file comes from a process holding no lock, as the kernel's
 * {@code GFP_KERNEL} there); it is false for an ordinary allocation's direct reclaim ({@link #reclaim(long)}) and for
 * the forms of {@link #reclaim(long, boolean)} and {@link #shrinkSlab(int, long, boolean)} without the flag.
 *
 * <p>Shrinkers may register and unregister at any time, also while a reclaim runs: once {@link
 * Registration#close()} returns, no new call of the shrinker starts (it waits for other threads' calls already in
 * flight, as Linux's shrinker_free waits on SRCU; calls on the closing thread's own stack, such as a scan whose
 * allocation ran the nested reclaim that closes it, finish after it returns). Per-shrinker {@code count} and
 * {@code scan(n)} mirror the kernel's debugfs files.
 *
 * <p>Failures: whatever a shrinker's {@code count} or {@code scan} throws (a RuntimeException or an Error)
 * propagates to the caller of the reclaim, {@link #shrinkSlab} or the debugfs call, and the rest of that round is
 * not run. The registry's own state is restored first: the call is no longer in flight, the work not done stays
 * deferred, and the stats count only the calls that returned.
 *
 * <p>Thread safety: all methods may be called from any thread; reclaim holds no lock of its own while a shrinker
 * runs.
 */
public final class ShrinkerRegistry implements ReclaimHook {
    /** The starting (lowest-pressure) priority: scan 1/4096 of what is freeable. */
    public static final int DEF_PRIORITY = 12;
    /** The default batch size, in pages. */
    public static final long DEFAULT_BATCH = 128;

    private static final int DEAD = Integer.MIN_VALUE / 2;

    /** The lock class of every registry's registration lock (a leaf). */
    static final LockClass REGISTRATION_LOCK = LockClass.named("ShrinkerRegistry.registrationLock");

    // Writers (register, close) hold it, so that the unique-name check and the add are one step.
    private final TrackedLock registrationLock = new TrackedLock(REGISTRATION_LOCK, "ShrinkerRegistry@" + Integer.toHexString(System.identityHashCode(this)));
    private final CopyOnWriteArrayList<Registration> registrations = new CopyOnWriteArrayList<>();
    // This registry's calls in flight on the current thread, innermost first (nested when a scan allocates).
    private final ThreadLocal<Call> calls = new ThreadLocal<>();

    /** Creates an empty registry. */
    public ShrinkerRegistry() {
    }

    /**
     * Registers a shrinker.
     *
     * @param shrinker the shrinker; its name must be unique here
     * @return the registration; close it to unregister
     * @throws IllegalArgumentException when the name is taken
     */
    public Registration register(Shrinker shrinker) {
        Objects.requireNonNull(shrinker, "shrinker");
        registrationLock.lock();
        try {
            if (find(shrinker.name()).isPresent()) {
                throw new IllegalArgumentException("a shrinker named " + shrinker.name() + " is registered");
            }
            Registration r = new Registration(shrinker);
            registrations.add(r);
            return r;
        } finally {
            registrationLock.unlock();
        }
    }

    /**
     * Returns the registration of the shrinker with that name.
     *
     * @param name the shrinker's name
     * @return the registration, if registered
     */
    public Optional<Registration> find(String name) {
        for (Registration r : registrations) {
            if (r.shrinker.name().equals(name)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /**
     * Returns the registered shrinkers' registrations, in registration order.
     *
     * @return a snapshot
     */
    public List<Registration> registrations() {
        return List.copyOf(registrations);
    }

    /**
     * Returns the stats of every registered shrinker.
     *
     * @return one snapshot per shrinker
     */
    public List<ShrinkerStats> stats() {
        List<ShrinkerStats> out = new ArrayList<>();
        for (Registration r : registrations) {
            out.add(r.stats());
        }
        return out;
    }

    /**
     * Direct reclaim from a page pool for an allocation whose caller may not block: frees at least {@code pages}
     * pages if possible, swapping allowed, without blocking.
     *
     * @param pages the pages wanted
     * @return the pages freed
     */
    @Override
    public long reclaim(long pages) {
        return reclaim(pages, true, false);
    }

    /**
     * Direct reclaim from a page pool for an allocation whose caller allows blocking: frees at least {@code pages}
     * pages if possible, swapping allowed; the shrinkers may block.
     *
     * @param pages the pages wanted
     * @return the pages freed
     */
    @Override
    public long reclaimMayBlock(long pages) {
        return reclaim(pages, true, true);
    }

    /**
     * Direct reclaim that does not block: {@link #reclaim(long, boolean, boolean)} with {@code canBlock} false.
     *
     * @param target  the pages wanted
     * @param canSwap whether shrinkers may evict to swap
     * @return the pages freed
     */
    public long reclaim(long target, boolean canSwap) {
        return reclaim(target, canSwap, false);
    }

    /**
     * Direct reclaim: runs {@link #shrinkSlab(int, long, boolean, boolean)} from priority 12 down to 0 until
     * {@code target} pages are freed.
     *
     * @param target   the pages wanted
     * @param canSwap  whether shrinkers may evict to swap
     * @param canBlock whether shrinkers may block (the caller holds no lock a GPU job needs to signal its fence)
     * @return the pages freed
     */
    public long reclaim(long target, boolean canSwap, boolean canBlock) {
        long freed = 0;
        for (int priority = DEF_PRIORITY; priority >= 0 && freed < target; priority--) {
            freed = saturatedAdd(freed, shrinkSlab(priority, target - freed, canSwap, canBlock));
        }
        return freed;
    }

    /**
     * Lets every registered shrinker apply the work its users deferred ({@link Shrinker#applyDeferred()}), so that
     * its next count and scan start from exact state. A {@link BackgroundReclaimer} calls it on each wake-up.
     * Whatever a shrinker throws propagates, as from a reclaim.
     */
    public void applyDeferred() {
        for (Registration r : registrations) {
            if (r.enter()) {
                try {
                    r.shrinker.applyDeferred();
                } finally {
                    r.exit();
                }
            }
        }
    }

    /**
     * One round that does not block: {@link #shrinkSlab(int, long, boolean, boolean)} with {@code canBlock} false.
     *
     * @param priority 12 (light) to 0 (heavy)
     * @param target   stop once this many pages are freed (Long.MAX_VALUE for a full round)
     * @param canSwap  whether shrinkers may evict to swap
     * @return the pages freed
     */
    public long shrinkSlab(int priority, long target, boolean canSwap) {
        return shrinkSlab(priority, target, canSwap, false);
    }

    /**
     * One round over all shrinkers at one priority (Linux's {@code shrink_slab}), stopping early once
     * {@code target} pages are freed; work not done is deferred.
     *
     * @param priority 12 (light) to 0 (heavy)
     * @param target   stop once this many pages are freed (Long.MAX_VALUE for a full round)
     * @param canSwap  whether shrinkers may evict to swap
     * @param canBlock whether shrinkers may block (for a bounded time; never for a lock)
     * @return the pages freed
     */
    public long shrinkSlab(int priority, long target, boolean canSwap, boolean canBlock) {
        if (priority < 0 || priority > DEF_PRIORITY) {
            throw new IllegalArgumentException("priority must be 0.." + DEF_PRIORITY + ": " + priority);
        }
        long freed = 0;
        for (Registration r : registrations) {
            if (freed >= target) {
                break;
            }
            if (r.enter()) {
                try {
                    freed = saturatedAdd(freed, r.doShrink(priority, target - freed, canSwap, canBlock));
                } finally {
                    r.exit();
                }
            }
        }
        return freed;
    }

    /**
     * Computes the pages a shrinker is asked to scan in one round (the Linux formula): its deferred work shifted
     * by priority plus {@code (freeable >> priority) * 4 / seeks}, capped at {@code 2 * freeable}. Every step
     * saturates at {@code Long.MAX_VALUE} instead of overflowing, so a huge count still gets work.
     *
     * @param freeable what count() returned
     * @param deferred work deferred earlier
     * @param priority 12 to 0
     * @param seeks    the shrinker's seeks (0: delta is freeable / 2)
     * @return the delta and the total scan, as {@code {delta, totalScan}}
     */
    public static long[] scanWork(long freeable, long deferred, int priority, int seeks) {
        long delta;
        if (seeks == 0) {
            delta = freeable / 2;
        } else {
            // x * 4 / seeks as (x / seeks) * 4 + (x % seeks) * 4 / seeks: exact, and only the first term can overflow.
            long x = freeable >> priority;
            delta = saturatedAdd(saturatedTimes4(x / seeks), x % seeks * 4 / seeks);
        }
        long totalScan = saturatedAdd(deferred >> priority, delta);
        totalScan = Math.min(totalScan, saturatedAdd(freeable, freeable));
        return new long[] {delta, totalScan};
    }

    /** Returns {@code a + b}, clamped to the range of a long. */
    static long saturatedAdd(long a, long b) {
        long sum = a + b;
        if (((a ^ sum) & (b ^ sum)) < 0) { // both operands' signs differ from the sum's: overflow
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return sum;
    }

    private static long saturatedTimes4(long x) {
        if (x > Long.MAX_VALUE / 4) {
            return Long.MAX_VALUE;
        }
        return x < Long.MIN_VALUE / 4 ? Long.MIN_VALUE : x * 4;
    }

    /** A call of a registration in flight on one thread, and the call of this registry it is nested in. */
    private record Call(Registration registration, Call outer) {
    }

    /**
     * One registered shrinker: its debugfs-like {@link #count()} and {@link #scan(long)}, its stats, and
     * {@link #close()} to unregister.
     */
    public final class Registration implements AutoCloseable {
        private final Shrinker shrinker;
        // >= 0: calls in flight; below 0 (DEAD + n): unregistered, n calls still finishing.
        private final AtomicInteger users = new AtomicInteger();
        private final AtomicLong deferred = new AtomicLong();
        private final LongAdder scans = new LongAdder();
        private final LongAdder scanned = new LongAdder();
        private final LongAdder freed = new LongAdder();
        private final LongAdder purged = new LongAdder();
        private final LongAdder evicted = new LongAdder();
        private final LongAdder skipped = new LongAdder();
        private final LongAdder stops = new LongAdder();
        // Pages freed by the most recent scan call; plain volatile: a reader wants the latest value, not a sum.
        private volatile long lastScanFreed;

        private Registration(Shrinker shrinker) {
            this.shrinker = shrinker;
        }

        /**
         * Returns the shrinker.
         *
         * @return the registered shrinker
         */
        public Shrinker shrinker() {
            return shrinker;
        }

        /**
         * Reads the shrinker's count, like reading debugfs {@code count}: swapping and blocking allowed, as for a
         * reader holding no lock.
         *
         * @return pages freeable now, or 0 once unregistered
         */
        public long count() {
            if (!enter()) {
                return 0;
            }
            try {
                return shrinker.count(new ShrinkControl(0, true, true));
            } finally {
                exit();
            }
        }

        /**
         * Asks the shrinker to free {@code n} pages now, like writing {@code n} to debugfs {@code scan}: swapping and
         * blocking allowed (the shrinker may wait for busy objects for a bounded time), so call it only while holding
         * no lock a GPU job needs to signal its fence.
         *
         * @param n pages to free, at least 0
         * @return pages freed (0 when it stopped or is unregistered)
         * @throws GemException EINVAL when {@code n} is negative (the shrinker is not called)
         */
        public long scan(long n) {
            if (n < 0) {
                throw new GemException(Errno.EINVAL, "cannot scan " + n + " pages of " + shrinker.name());
            }
            if (!enter()) {
                return 0;
            }
            try {
                long r = runScan(new ShrinkControl(n, true, true));
                return Math.max(r, 0);
            } finally {
                exit();
            }
        }

        /**
         * Returns a snapshot of this shrinker's activity.
         *
         * @return the stats
         */
        public ShrinkerStats stats() {
            return new ShrinkerStats(shrinker.name(), scans.sum(), scanned.sum(), freed.sum(), purged.sum(),
                    evicted.sum(), skipped.sum(), stops.sum(), deferred.get());
        }

        /**
         * Returns the pages the most recent scan call freed (a debugfs {@code shrink} read), whether it came from
         * {@link #scan(long)} or from a reclaim of the registry.
         *
         * @return pages freed by the last scan, 0 before the first and after one that stopped
         */
        public long lastScanFreed() {
            return lastScanFreed;
        }

        /**
         * Unregisters the shrinker and waits for other threads' calls already running to finish; after it returns
         * no new call of the shrinker starts. Called from inside calls of this shrinker (its own count or scan, or
         * a reclaim nested in one), it does not wait for those: they finish after it returns, and the registry
         * makes no further call for them. Idempotent.
         */
        @Override
        public void close() {
            int mine = callsOnThisThread();
            registrationLock.lock();
            try {
                registrations.remove(this);
            } finally {
                registrationLock.unlock();
            }
            int u;
            do {
                u = users.get();
                if (u < 0) {
                    break; // already unregistered
                }
            } while (!users.compareAndSet(u, u + DEAD));
            // This thread's own calls cannot end while it waits here; every other call ends.
            while (users.get() > DEAD + mine) {
                LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(50));
            }
        }

        /** Starts a call unless unregistered; a true return must be paired with {@link #exit()} in this thread. */
        private boolean enter() {
            int u;
            do {
                u = users.get();
                if (u < 0) {
                    return false;
                }
            } while (!users.compareAndSet(u, u + 1));
            calls.set(new Call(this, calls.get()));
            return true;
        }

        private void exit() {
            Call outer = calls.get().outer();
            if (outer == null) {
                calls.remove();
            } else {
                calls.set(outer);
            }
            users.decrementAndGet();
        }

        private boolean closed() {
            return users.get() < 0;
        }

        private int callsOnThisThread() {
            int n = 0;
            for (Call c = calls.get(); c != null; c = c.outer()) {
                if (c.registration() == this) {
                    n++;
                }
            }
            return n;
        }

        private long runScan(ShrinkControl sc) {
            ShrinkScanEvent ev = new ShrinkScanEvent();
            ev.begin();
            long r;
            LockValidator.enterReclaim(); // locks the scan takes blocking order after reclaim
            try {
                r = shrinker.scan(sc);
            } finally {
                LockValidator.exitReclaim();
            }
            if (r < 0) {
                r = Shrinker.STOP; // any negative result reads as STOP, so freed totals never go down
            }
            scans.increment();
            lastScanFreed = Math.max(r, 0);
            scanned.add(sc.nrScanned());
            purged.add(sc.nrPurged());
            evicted.add(sc.nrEvicted());
            skipped.add(sc.nrSkippedLocked());
            if (r == Shrinker.STOP) {
                stops.increment();
            } else {
                freed.add(r);
            }
            ev.end();
            if (ev.shouldCommit()) {
                ev.shrinker = shrinker.name();
                ev.target = sc.nrToScan();
                ev.scanned = sc.nrScanned();
                ev.freed = Math.max(r, 0);
                ev.skipped = sc.nrSkippedLocked();
                ev.commit();
            }
            return r;
        }

        /** Linux's do_shrink_slab for this shrinker at one priority. */
        private long doShrink(int priority, long target, boolean canSwap, boolean canBlock) {
            ShrinkControl sc = new ShrinkControl(0, canBlock, canSwap);
            long freeable = shrinker.count(sc);
            if (freeable <= 0) {
                return 0;
            }
            // The shrinker's other calls come before the deferred work is taken, so that a throw leaves it as it was.
            int seeks = shrinker.seeks();
            long batch = shrinker.batch() > 0 ? shrinker.batch() : DEFAULT_BATCH;
            long nr = deferred.getAndSet(0);
            long[] work = scanWork(freeable, nr, priority, seeks);
            long delta = work[0];
            long totalScan = work[1];
            long freedHere = 0;
            long scannedHere = 0;
            try {
                // closed(): a close from inside this call (a nested reclaim) returned; no new call may start.
                while ((totalScan >= batch || totalScan >= freeable) && totalScan > 0 && freedHere < target
                        && !closed()) {
                    long n = Math.min(batch, totalScan);
                    // Ask for no more than the reclaim still wants: Linux asks for a whole batch, which on a small
                    // shrinker frees everything it has for a one-page allocation. Work not done is deferred.
                    long ask = Math.min(n, target - freedHere);
                    sc.nrToScan(ask);
                    sc.nrScanned(ask);
                    sc.report(0, 0, 0); // the control is reused: a call that reports nothing did nothing
                    long r = runScan(sc);
                    if (r == Shrinker.STOP) {
                        break;
                    }
                    freedHere = saturatedAdd(freedHere, r);
                    long s = Math.max(sc.nrScanned(), 1);
                    totalScan -= s;
                    scannedHere = saturatedAdd(scannedHere, s);
                }
            } finally {
                // Also when a scan threw: the work not done is deferred, as Linux does (the call that threw did none).
                long next = Math.max(saturatedAdd(nr, delta) - scannedHere, 0);
                long kept = Math.min(next, saturatedAdd(freeable, freeable));
                deferred.accumulateAndGet(kept, ShrinkerRegistry::saturatedAdd);
            }
            return freedHere;
        }

        @Override
        public String toString() {
            return "Registration[" + shrinker.name() + "]";
        }
    }
}
