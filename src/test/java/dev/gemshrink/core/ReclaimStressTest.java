package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.reclaim.ShrinkerStats;
import dev.gemshrink.testing.FaultySwapStore;
import dev.gemshrink.testing.Invariants;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A bounded multi-threaded stress of reclaim: four workers write, verify, pin, madvise and "GPU-busy" their own
 * objects while a background reclaimer, direct reclaim from allocations and a thread writing to the shrinker's
 * debugfs-like {@code scan} all evict and purge, under a RAM budget several times smaller than the data, with swap.
 *
 * <p>What must hold: no WILLNEED byte is ever lost; a DONTNEED object that was not purged keeps its bytes; a pinned
 * object is never evicted or purged; the evictor never does work on an object the test marked busy; nothing hangs;
 * and afterwards the invariant checker finds nothing and freeing everything leaves the device empty.
 */
class ReclaimStressTest {
    private static final int WORKERS = 4;
    private static final int OBJECTS_PER_WORKER = 16;
    private static final int VOLATILE_PER_WORKER = 6; // the rest stay WILLNEED
    private static final int MAX_OBJECT_PAGES = 18;
    private static final int RAM_PAGES = 128;
    private static final int SWAP_PAGES = 4096;
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(4);
    private static final long JOIN_GRACE_MS = 30_000;
    private static final int PAGE = PagePool.PAGE_SIZE;

    private final Set<ShmemObject> busy = ConcurrentHashMap.newKeySet();
    private final Set<String> askedWhileBusy = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();

    private final LongAdder evictorPurgedPages = new LongAdder();
    private final LongAdder evictorEvictedPages = new LongAdder();
    private final LongAdder evictorBusyRefusals = new LongAdder();
    private final LongAdder operations = new LongAdder();
    private final LongAdder enomem = new LongAdder();
    private final LongAdder purgesSeen = new LongAdder();
    private final LongAdder recreated = new LongAdder();
    private final LongAdder verifiedBytes = new LongAdder();
    private final LongAdder pinChecks = new LongAdder();
    private final LongAdder busyPeriods = new LongAdder();
    private final LongAdder scans = new LongAdder();
    private final LongAdder scanFreed = new LongAdder();

    private void violation(String what) {
        violations.add(Thread.currentThread().getName() + ": " + what);
    }

    /**
     * The driver's evictor in this test: refuses (BUSY) while the object is marked GPU-busy, else does what the
     * default evictor does; it records what it was asked and checks what it did.
     */
    private final class BusyAwareEvictor implements Evictor {
        private final Evictor inner = Evictor.shmem();

        @Override
        public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
            return call(obj, permit, true);
        }

        @Override
        public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
            return call(obj, permit, false);
        }

        private Outcome call(ShmemObject obj, ReclaimPermit permit, boolean purge) {
            if (!obj.resv().isHeldByCurrentThread()) {
                violation("evictor called for " + obj.name() + " without its reservation lock");
            }
            // The busy mark only changes under the reservation lock, which the caller holds: stable here.
            if (busy.contains(obj)) {
                askedWhileBusy.add(obj.name());
                evictorBusyRefusals.increment();
                return Outcome.BUSY;
            }
            boolean pinned = obj.pinCount() > 0;
            int before = obj.residentPages();
            Outcome o = purge ? inner.purge(obj, permit) : inner.evict(obj, permit);
            if (o == Outcome.DONE) {
                if (busy.contains(obj)) {
                    violation((purge ? "purged " : "evicted ") + obj.name() + " while it was busy");
                }
                if (pinned) {
                    violation((purge ? "purged " : "evicted ") + obj.name() + " while it was pinned");
                }
                if (purge) {
                    if (obj.madv() != Madv.PURGED || obj.isResident()) {
                        violation("purge of " + obj.name() + " left madv=" + obj.madv() + " resident="
                                + obj.isResident());
                    }
                    evictorPurgedPages.add(before);
                } else {
                    if (!obj.isEvicted() || obj.isResident() || obj.madv() != Madv.WILLNEED) {
                        violation("eviction of " + obj.name() + " left evicted=" + obj.isEvicted() + " resident="
                                + obj.isResident() + " madv=" + obj.madv());
                    }
                    evictorEvictedPages.add(before);
                }
            }
            return o;
        }
    }

    /** One object of one worker, with what the worker knows it holds. */
    private static final class Slot {
        final boolean isVolatile;
        ShmemObject obj;
        byte[] expected;
        boolean dontneed; // the worker's own madvise; only it changes madv (reclaim can only make it PURGED)

        Slot(boolean isVolatile) {
            this.isVolatile = isVolatile;
        }
    }

    private GemDevice device;
    private final BusyAwareEvictor evictor = new BusyAwareEvictor();

    /** Calls {@code body}; counts ENOMEM and returns false for it. Other errors propagate. */
    private boolean tolerateEnomem(Runnable body) {
        try {
            body.run();
            return true;
        } catch (GemException e) {
            if (e.errno() == Errno.ENOMEM) {
                enomem.increment();
                return false;
            }
            throw e;
        }
    }

    /** Creates (or recreates) the slot's object: a new object reads as zeros; then fills it with random bytes. */
    private void create(Slot s, String name, SplittableRandom rnd, long deadline) {
        int pages = 1 + rnd.nextInt(MAX_OBJECT_PAGES);
        ShmemObject o = device.createObject(name, (long) pages * PAGE, evictor);
        s.obj = o;
        s.expected = new byte[pages * PAGE];
        s.dontneed = false;
        // The stored sg table makes the object reclaimable; allocation may fail under pressure: retry a while.
        while (!tolerateEnomem(o::getPagesSgt)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("could not allocate " + pages + " pages for " + name + " for too long");
            }
            LockSupport.parkNanos(100_000);
        }
        byte[] got = new byte[s.expected.length];
        if (tolerateEnomem(() -> o.read(0, got))) {
            if (!Arrays.equals(got, s.expected)) {
                violation("new object " + name + " does not read as zeros");
            }
        }
        byte[] data = new byte[s.expected.length];
        rnd.nextBytes(data);
        if (tolerateEnomem(() -> o.write(0, data))) {
            s.expected = data;
        }
    }

    private void verify(Slot s, String when) {
        byte[] got = new byte[s.expected.length];
        if (tolerateEnomem(() -> s.obj.read(0, got))) {
            if (!Arrays.equals(got, s.expected)) {
                int at = Arrays.mismatch(got, s.expected);
                violation(s.obj.name() + " lost data " + when + ": first difference at byte " + at + " (page "
                        + at / PAGE + ")");
            }
            verifiedBytes.add(got.length);
        }
    }

    private final class Worker implements Runnable {
        private final int id;
        private final SplittableRandom rnd;
        private final Slot[] slots = new Slot[OBJECTS_PER_WORKER];
        private final long deadline;
        private int generation;

        Worker(int id, long seed, long deadline) {
            this.id = id;
            this.rnd = new SplittableRandom(seed);
            this.deadline = deadline;
            for (int i = 0; i < slots.length; i++) {
                slots[i] = new Slot(i < VOLATILE_PER_WORKER);
            }
        }

        private String name(int i) {
            return "w" + id + "." + i + "#" + (generation++);
        }

        @Override
        public void run() {
            try {
                long hardDeadline = deadline + TimeUnit.SECONDS.toNanos(10);
                for (int i = 0; i < slots.length && !stop.get(); i++) {
                    create(slots[i], name(i), rnd, hardDeadline);
                }
                while (!stop.get() && System.nanoTime() < deadline) {
                    step(hardDeadline);
                    operations.increment();
                }
            } catch (Throwable t) {
                errors.add(t);
                stop.set(true);
            }
        }

        private void step(long hardDeadline) {
            int i = rnd.nextInt(slots.length);
            Slot s = slots[i];
            int op = rnd.nextInt(100);
            if (op < 28) {
                write(s);
            } else if (op < 50) {
                if (!s.dontneed) {
                    verify(s, "on a later read");
                }
            } else if (op < 68) {
                pinCheck(s);
            } else if (op < 85) {
                if (s.isVolatile) {
                    toggle(s, i, hardDeadline);
                } else {
                    verify(s, "on a later read");
                }
            } else if (op < 95) {
                busyPeriod(s);
            } else {
                temporary();
            }
        }

        /** Writes random bytes at a random place, through obj.write or through a pin and a CPU mapping. */
        private void write(Slot s) {
            if (s.dontneed) {
                return; // contents of a DONTNEED object may vanish: only WILLNEED objects are written
            }
            int len = 1 + rnd.nextInt(Math.min(s.expected.length, 2 * PAGE));
            int off = rnd.nextInt(s.expected.length - len + 1);
            byte[] data = new byte[len];
            rnd.nextBytes(data);
            ShmemObject o = s.obj;
            boolean ok;
            if (rnd.nextBoolean()) {
                ok = tolerateEnomem(() -> o.write(off, data));
            } else {
                ok = tolerateEnomem(() -> {
                    try (Pin p = o.pin(); VMap m = o.vmap()) {
                        if (!p.isLive() || !o.isResident() || o.madv() == Madv.PURGED) {
                            violation(o.name() + " pinned and mapped but resident=" + o.isResident() + " madv="
                                    + o.madv());
                        }
                        m.write(off, data, 0, len);
                    }
                });
            }
            if (ok) {
                System.arraycopy(data, 0, s.expected, off, len);
            }
        }

        /** Pins, checks that the object stays resident and unpurged with its bytes intact, unpins. */
        private void pinCheck(Slot s) {
            ShmemObject o = s.obj;
            Pin p;
            try {
                p = o.pin();
            } catch (GemException e) {
                if (e.errno() == Errno.ENOMEM && s.dontneed && o.madv() == Madv.PURGED) {
                    return; // purged while DONTNEED: a later WILLNEED finds out
                }
                if (e.errno() == Errno.ENOMEM) {
                    enomem.increment();
                    return;
                }
                throw e;
            }
            try {
                pinChecks.increment();
                checkPinned(o);
                // Whether WILLNEED or DONTNEED: while pinned it cannot have been purged, so the bytes are there.
                verify(s, "while pinned");
                for (int k = 0; k < 3; k++) {
                    LockSupport.parkNanos(20_000);
                    checkPinned(o);
                }
            } finally {
                p.close();
            }
        }

        private void checkPinned(ShmemObject o) {
            boolean resident = o.isResident();
            Madv m = o.madv();
            if (!resident || m == Madv.PURGED || o.pinCount() < 1) {
                violation(o.name() + " is pinned but resident=" + resident + " madv=" + m + " pin=" + o.pinCount());
            }
        }

        /** Flips a volatile object between WILLNEED and DONTNEED; a purged one is recreated. */
        private void toggle(Slot s, int i, long hardDeadline) {
            ShmemObject o = s.obj;
            if (!s.dontneed) {
                if (!o.madvise(Madv.DONTNEED)) {
                    violation(o.name() + " was WILLNEED but madvise(DONTNEED) says not retained");
                }
                s.dontneed = true;
                return;
            }
            boolean retained = o.madvise(Madv.WILLNEED);
            if (retained) {
                s.dontneed = false;
                if (o.madv() != Madv.WILLNEED) {
                    violation(o.name() + " retained but madv=" + o.madv());
                }
                verify(s, "after DONTNEED and WILLNEED again (retained)");
                return;
            }
            purgesSeen.increment();
            if (o.madv() != Madv.PURGED || o.isResident() || o.isEvicted()) {
                violation(o.name() + " not retained but madv=" + o.madv() + " resident=" + o.isResident());
            }
            try {
                o.read(0, new byte[1]);
                violation("CPU access to purged " + o.name() + " succeeded");
            } catch (GemException e) {
                if (e.errno() != Errno.EFAULT) {
                    violation("CPU access to purged " + o.name() + " failed with " + e.errno() + ", not EFAULT");
                }
            }
            LeakReport r = o.free();
            if (!r.isEmpty()) {
                violation("freeing purged " + o.name() + " leaked " + r);
            }
            create(s, name(i), rnd, hardDeadline);
            recreated.increment();
        }

        /**
         * Marks the object GPU-busy (under its reservation lock, as a job attaches a fence), with its pages
         * resident, lets reclaim try it for a while, and checks it was neither evicted nor purged.
         */
        private void busyPeriod(Slot s) {
            ShmemObject o = s.obj;
            o.resv().lock();
            try {
                if (o.madv() == Madv.PURGED) {
                    return;
                }
                if (!tolerateEnomem(o::getPagesSgt)) {
                    return;
                }
                busy.add(o);
            } finally {
                o.resv().unlock();
            }
            busyPeriods.increment();
            LockSupport.parkNanos(50_000 + rnd.nextInt(200_000));
            o.resv().lock();
            try {
                if (!o.isResident() || o.isEvicted() || o.madv() == Madv.PURGED) {
                    violation(o.name() + " changed while GPU-busy: resident=" + o.isResident() + " evicted="
                            + o.isEvicted() + " madv=" + o.madv());
                }
                busy.remove(o);
            } finally {
                o.resv().unlock();
            }
            if (!s.dontneed) {
                verify(s, "after a busy period");
            }
        }

        /** A short-lived object: allocate, write, read back, free. */
        private void temporary() {
            ShmemObject t = device.createObject("tmp" + id + "#" + (generation++), (1L + rnd.nextInt(8)) * PAGE,
                    evictor);
            try {
                byte[] data = new byte[(int) t.size()];
                rnd.nextBytes(data);
                tolerateEnomem(() -> {
                    try (PagesRef r = t.getPages()) {
                        if (!t.isResident() || !r.isLive()) {
                            violation("temporary " + t.name() + " has a page use but no pages");
                        }
                        t.write(0, data);
                        byte[] got = new byte[data.length];
                        t.read(0, got);
                        if (!Arrays.equals(got, data)) {
                            violation("temporary " + t.name() + " read back different bytes");
                        }
                    }
                });
            } finally {
                LeakReport r = t.free();
                if (!r.isEmpty()) {
                    violation("freeing temporary " + t.name() + " leaked " + r);
                }
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void reclaimUnderPressureLosesNothing() throws InterruptedException {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(SWAP_PAGES)); // never armed: counts only
        device = GemDevice.builder().name("stress").ramPages(RAM_PAGES).swap(swap)
                .leakDetection(LeakDetection.SIMPLE).build();
        BackgroundReclaimer kswapd = new BackgroundReclaimer(device.pool(), device.shrinkers(), 16, 32).start();
        long start = System.nanoTime();
        long deadline = start + RUN_NANOS;

        List<Worker> workers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            Worker worker = new Worker(w, 0x5eed0000L + w, deadline);
            workers.add(worker);
            Thread t = new Thread(worker, "stress-worker-" + w);
            t.setDaemon(true);
            threads.add(t);
        }
        Thread scanner = new Thread(() -> {
            SplittableRandom rnd = new SplittableRandom(42);
            try {
                while (!stop.get()) {
                    scanFreed.add(device.shrinker().scan(1 + rnd.nextInt(64)));
                    scans.increment();
                    if (device.shrinker().count() < 0) {
                        violation("negative shrinker count");
                    }
                    LockSupport.parkNanos(100_000 + rnd.nextInt(400_000));
                }
            } catch (Throwable t) {
                errors.add(t);
                stop.set(true);
            }
        }, "stress-scan");
        scanner.setDaemon(true);

        threads.forEach(Thread::start);
        scanner.start();
        long joinBy = System.currentTimeMillis() + TimeUnit.NANOSECONDS.toMillis(RUN_NANOS) + JOIN_GRACE_MS;
        for (Thread t : threads) {
            t.join(Math.max(1, joinBy - System.currentTimeMillis()));
        }
        stop.set(true);
        scanner.join(Math.max(1, joinBy - System.currentTimeMillis()) + 5_000);
        List<Thread> hung = new ArrayList<>();
        for (Thread t : threads) {
            if (t.isAlive()) {
                hung.add(t);
            }
        }
        if (scanner.isAlive()) {
            hung.add(scanner);
        }
        if (!hung.isEmpty()) {
            StringBuilder sb = new StringBuilder("threads did not finish (hang or deadlock):");
            for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                if (e.getKey().getName().startsWith("stress") || e.getKey().getName().startsWith("gemshrink")) {
                    sb.append("\n").append(e.getKey().getName()).append(" ").append(e.getKey().getState());
                    for (StackTraceElement f : e.getValue()) {
                        sb.append("\n    at ").append(f);
                    }
                }
            }
            kswapd.close();
            fail(sb.toString());
        }
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        kswapd.close();
        for (Throwable t : errors) {
            throw new AssertionError("a stress thread failed: " + t, t);
        }
        assertThat(busy).as("busy marks left").isEmpty();

        // Every WILLNEED object holds exactly what was written; a DONTNEED one, if not purged, too.
        int objects = 0;
        long dataPages = 0;
        int finalPurged = 0;
        for (Worker w : workers) {
            for (Slot s : w.slots) {
                if (s.obj == null) {
                    continue;
                }
                objects++;
                dataPages += s.obj.pageCount();
                if (s.dontneed) {
                    if (s.obj.madvise(Madv.WILLNEED)) {
                        s.dontneed = false;
                    } else {
                        finalPurged++;
                        continue;
                    }
                }
                byte[] got = new byte[s.expected.length];
                s.obj.read(0, got); // no ENOMEM tolerated now: nothing is pinned or busy
                if (!Arrays.equals(got, s.expected)) {
                    violation(s.obj.name() + " lost data at the end: first difference at byte "
                            + Arrays.mismatch(got, s.expected));
                }
            }
        }
        Invariants.assertClean(device);

        ShrinkerStats st = device.shrinker().stats();
        System.out.printf("ReclaimStressTest: %d worker threads + scan thread + background reclaimer, %d ms%n",
                WORKERS, elapsedMs);
        System.out.printf("  operations: %d (pin checks %d, busy periods %d, debugfs scans %d freeing %d pages)%n",
                operations.sum(), pinChecks.sum(), busyPeriods.sum(), scans.sum(), scanFreed.sum());
        System.out.printf("  objects: %d live at the end, %d pages of data; RAM budget %d pages; swap %d pages%n",
                objects, dataPages, RAM_PAGES, SWAP_PAGES);
        System.out.printf("  shrinker: scans %d, scanned %d, freed %d, purged %d, evicted %d, skipped locked %d, "
                + "stops %d%n", st.scans(), st.scanned(), st.freed(), st.purged(), st.evicted(), st.skippedLocked(),
                st.stops());
        System.out.printf("  evictor: purged %d pages, evicted %d pages, refused busy %d times (%d objects)%n",
                evictorPurgedPages.sum(), evictorEvictedPages.sum(), evictorBusyRefusals.sum(),
                askedWhileBusy.size());
        System.out.printf("  swap: %d stores (%d pages), %d swap-ins (%d pages); background reclaimer %d wake-ups, "
                + "%d pages%n", swap.stores(), swap.storedPages(), swap.loads(), swap.loadedPages(), kswapd.wakeups(),
                kswapd.reclaimed());
        System.out.printf("  purges seen by WILLNEED: %d (recreated %d, purged at the end %d); ENOMEM: %d; "
                + "verified %d MiB; violations: %d%n", purgesSeen.sum(), recreated.sum(), finalPurged, enomem.sum(),
                verifiedBytes.sum() >> 20, violations.size());

        assertThat(violations).as("violations").isEmpty();
        assertThat(evictorPurgedPages.sum()).as("purged pages: evictor vs shrinker stats").isEqualTo(st.purged());
        assertThat(evictorEvictedPages.sum()).as("evicted pages: evictor vs shrinker stats").isEqualTo(st.evicted());
        assertThat(swap.storedPages()).as("pages written to swap").isEqualTo(st.evicted());
        assertThat(dataPages).as("data several times the RAM budget").isGreaterThan(3L * RAM_PAGES);
        assertThat(st.evicted()).as("pages evicted").isPositive();
        assertThat(st.purged()).as("pages purged").isPositive();
        assertThat(swap.loadedPages()).as("pages swapped in").isPositive();
        assertThat(evictorBusyRefusals.sum()).as("busy objects offered to the evictor").isPositive();

        for (Worker w : workers) {
            for (Slot s : w.slots) {
                if (s.obj != null) {
                    assertThat(s.obj.free().isEmpty()).as("leaks of %s", s.obj.name()).isTrue();
                }
            }
        }
        Invariants.assertEmpty(device);
        device.close();
    }
}
