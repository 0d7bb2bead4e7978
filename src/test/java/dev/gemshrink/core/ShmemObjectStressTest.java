package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.AcquireContext;
import dev.gemshrink.locking.ResvLock;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.Invariants;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A bounded multi-threaded stress of {@link ShmemObject}: four threads hammer a few shared objects and one private
 * object each with pin/unpin, get/put pages, vmap with write-then-read-back of real bytes (through owner objects and
 * through calls that own their references), madvise toggling,
 * purge and evict attempts (with in-memory swap and a RAM budget tight enough for direct reclaim to run), and
 * multi-object locking through {@link AcquireContext#lockAll} in random orders.
 *
 * <p>What must hold: bytes written under a pin read back identically while the pin is held (each thread writes only
 * its own page of a shared object, and only it writes its private object); a private (WILLNEED) object reads back
 * its last contents after any number of evictions and swap-ins; a purge or evict of an object on which the calling
 * thread holds a pin always fails with EBUSY, and a pinned object is always resident and never purged; only the
 * expected errnos occur; no thread hangs (a deadlock fails the test after a grace period); and afterwards the
 * invariant checker finds nothing and freeing every object leaves the device empty.
 */
class ShmemObjectStressTest {
    private static final int THREADS = 4;
    private static final int SHARED = 4;
    private static final int SHARED_PAGES = THREADS; // one page per thread for its byte range
    private static final int PRIVATE_PAGES = 2;
    private static final int RAM_PAGES = 24; // below the ~24+ pages wanted at peak: direct reclaim runs
    private static final int SWAP_PAGES = 512;
    private static final int MAX_HELD = 3; // handles a thread keeps across iterations, per kind
    private static final int MAX_REPLACEMENTS = 5_000;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(3000);
    private static final int MAX_ITERATIONS = 200_000; // per thread
    private static final long JOIN_GRACE_MS = 30_000;
    private static final int PAGE = PagePool.PAGE_SIZE;
    private static final int CHUNK = 256;

    private final GemDevice device = GemDevice.builder().name("stress").ramPages(RAM_PAGES)
            .swap(SwapStore.inMemory(SWAP_PAGES)).leakDetection(LeakDetection.SIMPLE).build();
    private final AtomicReferenceArray<ShmemObject> shared = new AtomicReferenceArray<>(SHARED);
    private final ShmemObject[] own = new ShmemObject[THREADS];
    private final ConcurrentLinkedQueue<ShmemObject> all = new ConcurrentLinkedQueue<>();
    private final AtomicInteger replacements = new AtomicInteger();
    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void hammerSharedObjects() throws Exception {
        long seed = Long.getLong("gemshrink.stress.seed", System.nanoTime());
        System.out.println("ShmemObjectStressTest seed=" + seed + " (rerun with -Dgemshrink.stress.seed=" + seed + ")");
        for (int i = 0; i < SHARED; i++) {
            shared.set(i, newShared("shared" + i));
        }
        byte[][] ownContents = new byte[THREADS][];
        for (int t = 0; t < THREADS; t++) {
            own[t] = device.createObject("own" + t, (long) PRIVATE_PAGES * PAGE);
            all.add(own[t]);
            own[t].getPagesSgt();
            ownContents[t] = new byte[PRIVATE_PAGES * PAGE];
        }

        long start = System.nanoTime();
        long deadline = start + RUN_NANOS;
        Thread[] workers = new Thread[THREADS];
        Worker[] ws = new Worker[THREADS];
        for (int t = 0; t < THREADS; t++) {
            ws[t] = new Worker(t, new SplittableRandom(seed + t), ownContents[t], deadline);
            workers[t] = new Thread(ws[t], "stress-" + t);
            workers[t].start();
        }
        long joinBy = System.currentTimeMillis() + RUN_NANOS / 1_000_000 + JOIN_GRACE_MS;
        for (Thread w : workers) {
            w.join(Math.max(1, joinBy - System.currentTimeMillis()));
        }
        List<String> stuck = new ArrayList<>();
        for (Thread w : workers) {
            if (w.isAlive()) {
                stuck.add(w.getName() + " " + w.getState() + "\n    "
                        + String.join("\n    ", Arrays.stream(w.getStackTrace()).map(String::valueOf).toList()));
            }
        }
        if (!stuck.isEmpty()) {
            fail("worker threads did not finish (deadlock?):\n" + String.join("\n", stuck));
        }
        if (!errors.isEmpty()) {
            AssertionError e = new AssertionError(errors.size() + " worker failure(s); first: " + errors.peek());
            errors.forEach(e::addSuppressed);
            throw e;
        }
        for (Worker w : ws) {
            assertThat(w.pins).as("pins left by worker %d", w.id).isEmpty();
            assertThat(w.uses).as("page uses left by worker %d", w.id).isEmpty();
        }
        Invariants.assertClean(device);

        // Every private object still reads exactly its last contents (after whatever evictions happened).
        for (int t = 0; t < THREADS; t++) {
            byte[] got = new byte[ownContents[t].length];
            own[t].read(0, got);
            assertThat(got).as("contents of %s", own[t].name()).isEqualTo(ownContents[t]);
        }
        // A WILLNEED object that is evicted and swapped back in reads exactly what was written.
        ShmemObject o = own[0];
        byte[] pattern = new byte[PRIVATE_PAGES * PAGE];
        new SplittableRandom(seed).nextBytes(pattern);
        o.write(0, pattern);
        assertThat(o.madv()).isEqualTo(Madv.WILLNEED);
        assertThat(o.evict()).isEqualTo(PRIVATE_PAGES);
        assertThat(o.isEvicted()).isTrue();
        assertThat(o.isResident()).isFalse();
        Invariants.assertClean(device);
        byte[] back = new byte[pattern.length];
        o.read(0, back);
        assertThat(back).isEqualTo(pattern);
        assertThat(o.isEvicted()).isFalse();
        Invariants.assertClean(device);

        TreeMap<String, Long> summary = new TreeMap<>();
        counts.forEach((k, v) -> summary.put(k, v.sum()));
        long total = Arrays.stream(ws).mapToLong(w -> w.iterations).sum();
        System.out.println("ShmemObjectStressTest: " + total + " iterations in "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms " + Arrays.stream(ws)
                .map(w -> w.iterations).toList() + ", " + all.size() + " objects, " + replacements.get()
                + " replacement objects created for purged shared ones; counts " + summary);
        assertThat(summary.getOrDefault("pinned.purge.EBUSY", 0L) + summary.getOrDefault("pinned.evict.EBUSY", 0L))
                .as("purge/evict attempts under a pin").isPositive();
        assertThat(summary.getOrDefault("shared.verified", 0L)).as("verified writes under a vmap").isPositive();
        assertThat(summary.getOrDefault("held.verified", 0L)).as("verified writes under a withVmap call").isPositive();
        assertThat(summary.getOrDefault("lockAll", 0L)).as("lockAll rounds").isPositive();

        for (ShmemObject x : all) {
            LeakReport r = x.free();
            assertThat(r.isEmpty()).as("leaks of %s: %s", x.name(), r).isTrue();
        }
        Invariants.assertEmpty(device);
        device.close();
    }

    private ShmemObject newShared(String name) {
        ShmemObject o = device.createObject(name, (long) SHARED_PAGES * PAGE);
        try {
            o.getPagesSgt();
        } catch (GemException e) {
            o.free();
            throw e;
        }
        all.add(o);
        return o;
    }

    private void count(String what) {
        counts.computeIfAbsent(what, k -> new LongAdder()).increment();
    }

    private void expectErrno(String what, GemException e, Errno... allowed) {
        if (!EnumSet.copyOf(Arrays.asList(allowed)).contains(e.errno())) {
            throw new AssertionError(what + ": unexpected " + e, e);
        }
        count(what + "." + e.errno());
    }

    /** One worker thread: a loop of random operations until the deadline or the iteration bound. */
    private final class Worker implements Runnable {
        final int id;
        final SplittableRandom rnd;
        final byte[] ownContents; // what this thread last wrote to its private object
        final long deadline;
        final ArrayDeque<Pin> pins = new ArrayDeque<>();
        final ArrayDeque<PagesRef> uses = new ArrayDeque<>();
        long iterations;

        Worker(int id, SplittableRandom rnd, byte[] ownContents, long deadline) {
            this.id = id;
            this.rnd = rnd;
            this.ownContents = ownContents;
            this.deadline = deadline;
        }

        @Override
        public void run() {
            try {
                while (iterations < MAX_ITERATIONS && System.nanoTime() < deadline) {
                    iterations++;
                    step();
                }
            } catch (Throwable t) {
                errors.add(new AssertionError("worker " + id + " after " + iterations + " iterations: " + t, t));
            } finally {
                closeAll();
            }
        }

        private ShmemObject anyObject() {
            int i = rnd.nextInt(SHARED + THREADS);
            return i < SHARED ? shared.get(i) : own[i - SHARED];
        }

        private void step() {
            switch (rnd.nextInt(13)) {
                case 0 -> pin(anyObject());
                case 1 -> unpin();
                case 2 -> getPages(anyObject());
                case 3 -> putPages();
                case 4, 5 -> vmapWriteRead(shared.get(rnd.nextInt(SHARED)));
                case 6 -> ownWriteRead();
                case 7 -> madvise(shared.get(rnd.nextInt(SHARED)));
                case 8 -> purgeOrEvict(anyObject());
                case 9 -> pinnedPurgeOrEvict();
                case 10 -> lockAll();
                case 11 -> heldWriteRead(shared.get(rnd.nextInt(SHARED)));
                default -> ownEvictAndVerify();
            }
        }

        private void pin(ShmemObject o) {
            try {
                Pin p = o.pin();
                count("pin");
                checkPinned(o, "after pin");
                if (pins.size() < MAX_HELD) {
                    pins.push(p);
                } else {
                    p.close();
                }
            } catch (GemException e) {
                expectErrno("pin", e, Errno.ENOMEM);
            }
        }

        private void unpin() {
            Pin p = pins.poll();
            if (p != null) {
                checkPinned(p.object(), "before unpin");
                p.close();
                count("unpin");
            }
        }

        private void getPages(ShmemObject o) {
            try {
                PagesRef r = o.getPages();
                count("getPages");
                if (uses.size() < MAX_HELD) {
                    uses.push(r);
                } else {
                    r.close();
                }
            } catch (GemException e) {
                expectErrno("getPages", e, Errno.ENOMEM);
            }
        }

        private void putPages() {
            PagesRef r = uses.poll();
            if (r != null) {
                r.close();
                count("putPages");
            }
        }

        /** Writes this thread's page of a shared object through a vmap and reads it back under the same vmap. */
        private void vmapWriteRead(ShmemObject o) {
            VMap m;
            try {
                m = o.vmap();
            } catch (GemException e) {
                expectErrno("vmap", e, Errno.ENOMEM);
                return;
            }
            try {
                checkPinned(o, "under vmap");
                byte[] data = new byte[CHUNK];
                rnd.nextBytes(data);
                long off = (long) id * PAGE + rnd.nextInt(PAGE - CHUNK + 1);
                m.write(off, data, 0, data.length);
                if (rnd.nextBoolean()) {
                    Thread.yield(); // let others pin, madvise, purge and evict meanwhile
                }
                byte[] back = new byte[CHUNK];
                m.read(off, back, 0, back.length);
                if (!Arrays.equals(data, back)) {
                    throw new AssertionError("bytes of " + o.name() + " at " + off + " changed under a vmap");
                }
                count("shared.verified");
            } finally {
                m.close();
            }
        }

        /**
         * The same through calls that own their references: a mapping held by a {@code withVmap} call, a pin by a
         * {@code withPin} call inside it, and the object's own write and read (lock-free while it is mapped).
         */
        private void heldWriteRead(ShmemObject o) {
            byte[] data = new byte[CHUNK];
            rnd.nextBytes(data);
            long off = (long) id * PAGE + rnd.nextInt(PAGE - CHUNK + 1);
            boolean yield = rnd.nextBoolean();
            byte[] back;
            try {
                back = o.withVmap((mapped, d) -> mapped.withPin((pinned, x) -> {
                    checkPinned(pinned, "in a withPin call");
                    pinned.write(off, x);
                    if (yield) {
                        Thread.yield();
                    }
                    byte[] b = new byte[x.length];
                    pinned.read(off, b);
                    return b;
                }, d), data);
            } catch (GemException e) {
                expectErrno("withVmap", e, Errno.ENOMEM);
                return;
            }
            if (!Arrays.equals(data, back)) {
                throw new AssertionError("bytes of " + o.name() + " at " + off + " changed under a withVmap call");
            }
            count("held.verified");
        }

        /** Rewrites part of the private object under a pin + vmap, checks it, and remembers it. */
        private void ownWriteRead() {
            ShmemObject o = own[id];
            try (Pin p = o.pin(); VMap m = o.vmap()) {
                checkPinned(p.object(), "own under pin");
                int off = rnd.nextInt(ownContents.length - CHUNK + 1);
                byte[] data = new byte[CHUNK];
                rnd.nextBytes(data);
                m.write(off, data, 0, CHUNK);
                System.arraycopy(data, 0, ownContents, off, CHUNK);
                Thread.yield();
                byte[] whole = new byte[ownContents.length];
                m.read(0, whole, 0, whole.length);
                if (!Arrays.equals(whole, ownContents)) {
                    throw new AssertionError(o.name() + " lost bytes under a pin");
                }
                count("own.verified");
            } catch (GemException e) {
                expectErrno("own.pin", e, Errno.ENOMEM);
            }
        }

        /** Evicts the private object (when nobody pins it) and checks that a swap-in restores its bytes. */
        private void ownEvictAndVerify() {
            ShmemObject o = own[id];
            boolean evicted;
            try {
                o.evict();
                count("own.evict");
                evicted = true;
            } catch (GemException e) {
                expectErrno("own.evict", e, Errno.EBUSY, Errno.ENOMEM);
                evicted = false;
            }
            byte[] got = new byte[ownContents.length];
            try {
                o.read(0, got);
            } catch (GemException e) {
                expectErrno("own.read", e, Errno.ENOMEM);
                return;
            }
            if (!Arrays.equals(got, ownContents)) {
                throw new AssertionError(o.name() + " read back different bytes"
                        + (evicted ? " after eviction and swap-in" : ""));
            }
            count(evicted ? "own.swapInVerified" : "own.readVerified");
        }

        private void madvise(ShmemObject o) {
            Madv m = rnd.nextBoolean() ? Madv.DONTNEED : Madv.WILLNEED;
            boolean retained = o.madvise(m);
            count("madvise." + m + "." + retained);
            if (!retained) {
                replacePurged(o);
            }
        }

        private void purgeOrEvict(ShmemObject o) {
            boolean pinnedByMe = pins.stream().anyMatch(p -> p.object() == o);
            boolean purge = rnd.nextBoolean();
            String what = (pinnedByMe ? "pinned." : "") + (purge ? "purge" : "evict");
            try {
                int n = purge ? o.purge() : o.evict();
                if (pinnedByMe) {
                    throw new AssertionError(what + " of " + o.name() + " freed " + n
                            + " pages while this thread holds a pin on it");
                }
                count(what);
                if (purge) {
                    replacePurged(o);
                }
            } catch (GemException e) {
                if (pinnedByMe) {
                    expectErrno(what, e, Errno.EBUSY);
                } else {
                    expectErrno(what, e, Errno.EBUSY, Errno.ENOMEM);
                }
            }
        }

        /** Tries to purge or evict an object this thread has pinned (pinning one first if it holds none). */
        private void pinnedPurgeOrEvict() {
            if (pins.isEmpty()) {
                pin(anyObject());
            }
            Pin p = pins.peek();
            if (p != null) {
                purgeOrEvict(p.object());
                checkPinned(p.object(), "after purge/evict attempt");
            }
        }

        /** Takes 2 or 3 objects' locks in a random order with lockAll and works on them while holding them. */
        private void lockAll() {
            List<ShmemObject> objs = new ArrayList<>();
            int n = 2 + rnd.nextInt(2);
            while (objs.size() < n) {
                ShmemObject o = anyObject();
                if (!objs.contains(o)) {
                    objs.add(o);
                }
            }
            List<ResvLock> locks = new ArrayList<>();
            for (ShmemObject o : objs) {
                locks.add(o.resv());
            }
            try (AcquireContext ctx = new AcquireContext()) {
                ctx.lockAll(locks);
                count("lockAll");
                if (ctx.backoffs() > 0) {
                    counts.computeIfAbsent("lockAll.backoffs", k -> new LongAdder()).add(ctx.backoffs());
                }
                if (!Set.copyOf(ctx.held()).equals(Set.copyOf(locks))) {
                    throw new AssertionError("lockAll holds " + ctx.held() + " instead of " + locks);
                }
                // Only the locked objects are touched here: taking another lock plainly while holding these could
                // wait on an older context that waits on us.
                for (ShmemObject o : objs) {
                    if (!o.resv().isHeldByCurrentThread()) {
                        throw new AssertionError(o.resv() + " not held after lockAll");
                    }
                    boolean wasResident = o.isResident();
                    boolean purgeable = o.isPurgeable();
                    if (o.isResident() != wasResident || o.isPurgeable() != purgeable) {
                        throw new AssertionError(o.name() + " changed state while its reservation lock was held");
                    }
                    try (Pin p = o.pin()) {
                        checkPinned(p.object(), "pinned under lockAll");
                        count("lockAll.pin");
                    } catch (GemException e) {
                        expectErrno("lockAll.pin", e, Errno.ENOMEM);
                    }
                    if (o.name().startsWith("shared")) {
                        o.madvise(rnd.nextBoolean() ? Madv.DONTNEED : Madv.WILLNEED);
                    }
                    if (rnd.nextInt(4) == 0) {
                        try {
                            o.evict();
                            count("lockAll.evict");
                        } catch (GemException e) {
                            expectErrno("lockAll.evict", e, Errno.EBUSY, Errno.ENOMEM);
                        }
                    }
                }
            }
        }

        /** A pinned object is resident and not purged. */
        private void checkPinned(ShmemObject o, String when) {
            if (o.pinCount() < 1 || !o.isResident() || o.madv() == Madv.PURGED) {
                throw new AssertionError(o.name() + " " + when + ": pin=" + o.pinCount() + " resident="
                        + o.isResident() + " madv=" + o.madv());
            }
        }

        /** Puts a fresh object in the slot of a purged shared object (the purged one is freed at the end). */
        private void replacePurged(ShmemObject purged) {
            for (int i = 0; i < SHARED; i++) {
                if (shared.get(i) == purged && purged.madv() == Madv.PURGED
                        && replacements.get() < MAX_REPLACEMENTS) {
                    ShmemObject fresh;
                    try {
                        fresh = newShared("shared" + i + "." + replacements.incrementAndGet());
                    } catch (GemException e) {
                        expectErrno("replace", e, Errno.ENOMEM);
                        return;
                    }
                    if (!shared.compareAndSet(i, purged, fresh)) {
                        all.remove(fresh);
                        fresh.free();
                    }
                    count("replace");
                    return;
                }
            }
        }

        private void closeAll() {
            while (!pins.isEmpty()) {
                pins.pop().close();
            }
            while (!uses.isEmpty()) {
                uses.pop().close();
            }
        }
    }
}
