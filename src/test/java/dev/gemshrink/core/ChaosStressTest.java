package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.testing.FaultSchedule;
import dev.gemshrink.testing.InjectedError;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.FaultySwapStore;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Chaos stress of one device (bounded: {@code gemshrink.chaos.seconds}, 3 s by default; the soak profile runs it
 * longer): workers write, verify, madvise, pin, map and reclaim their own objects; "closer" threads close CPU
 * mappings while other threads copy through them and then purge the objects; a scanner and direct reclaim run all the
 * time; an interrupter interrupts everyone; and a swap store and an evictor throw {@link IOException},
 * {@link RuntimeException} and {@link Error} on seeded calls. At the end every WILLNEED object holds exactly the bytes
 * its worker wrote, every new object read as zeros, the invariants hold, and freeing everything leaves the device
 * empty. The seed is printed and can be fixed with {@code -Dgemshrink.chaos.seed=N}. It runs once under each
 * built-in reclaim policy.
 */
class ChaosStressTest {
    private static final long SECONDS = Long.getLong("gemshrink.chaos.seconds", 3);
    private static final int PAGE = PagePool.PAGE_SIZE;
    private static final int WORKERS = 3;
    private static final int OBJECTS_PER_WORKER = 6;

    /** The default evictor, failing on the faults' schedule before it does anything. */
    static final class FaultyEvictor implements Evictor {
        private final FaultSchedule faults;

        FaultyEvictor(FaultSchedule faults) {
            this.faults = faults;
        }

        @Override
        public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
            faults.maybe("evictor purge");
            return Evictor.shmem().purge(obj, permit);
        }

        @Override
        public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
            faults.maybe("evictor evict");
            return Evictor.shmem().evict(obj, permit);
        }
    }

    /** One worker's object and the bytes it must hold while WILLNEED. */
    private static final class Slot {
        ShmemObject obj;
        byte[] expected;
    }

    static Stream<ReclaimPolicy> policies() {
        return ReclaimPolicy.builtIns().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("policies")
    void chaosKeepsEveryWillneedByteAndEveryInvariant(ReclaimPolicy policy) throws Exception {
        // The scanner warns about every evictor that throws a RuntimeException: capture those warnings (and check
        // them) instead of printing hundreds of expected stack traces.
        ch.qos.logback.classic.Logger shrinkLog =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(GemShrinker.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> warnings =
                new ch.qos.logback.core.read.ListAppender<>();
        warnings.start();
        shrinkLog.addAppender(warnings);
        shrinkLog.setAdditive(false);
        try {
            runChaos(policy);
        } finally {
            shrinkLog.setAdditive(true);
            shrinkLog.detachAppender(warnings);
        }
        for (ch.qos.logback.classic.spi.ILoggingEvent e : warnings.list) {
            if (e.getLevel() == ch.qos.logback.classic.Level.WARN) {
                assertThat(e.getFormattedMessage()).matches("evictor of bo#\\d+ failed; skipping it");
                assertThat(e.getThrowableProxy().getMessage()).startsWith("injected evictor");
            }
        }
    }

    private void runChaos(ReclaimPolicy policy) throws Exception {
        long seed = Long.getLong("gemshrink.chaos.seed", System.nanoTime());
        System.out.println("ChaosStressTest policy=" + policy + " seed=" + seed + " (rerun with -Dgemshrink.chaos.seed="
                + seed + ")");
        FaultSchedule faults = new FaultSchedule(seed, 6);
        FaultyEvictor evictor = new FaultyEvictor(faults);
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicLong freshChecked = new AtomicLong();
        AtomicLong verified = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        List<Slot[]> allSlots = new ArrayList<>();
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(64));
        swap.failStoresWith(faults.of("swap store"));
        swap.failLoadsWith(faults.of("swap load"));
        try (GemDevice device = GemDevice.builder().name("chaos").ramPages(96).swap(swap)
                .leakDetection(LeakDetection.SIMPLE).reclaimPolicy(policy).build()) {
            for (int w = 0; w < WORKERS; w++) {
                Slot[] slots = new Slot[OBJECTS_PER_WORKER];
                for (int i = 0; i < slots.length; i++) {
                    slots[i] = new Slot();
                }
                allSlots.add(slots);
                long wseed = seed + w;
                threads.add(new Thread(() -> work(device, evictor, slots, new SplittableRandom(wseed), stop, failures,
                        freshChecked, verified), "chaos-worker-" + w));
            }
            for (int c = 0; c < 2; c++) {
                long cseed = seed * 31 + c;
                threads.add(new Thread(() -> closeWhileCopying(device, new SplittableRandom(cseed), stop, failures,
                        freshChecked), "chaos-closer-" + c));
            }
            threads.add(new Thread(() -> {
                SplittableRandom r = new SplittableRandom(seed * 17);
                while (!stop.get()) {
                    Thread.interrupted();
                    try {
                        device.shrinker().scan(1 + r.nextInt(32));
                    } catch (InjectedError | IllegalStateException | GemException e) {
                        // an injected failure inside the scan: the scan restored its lists
                    }
                }
            }, "chaos-scanner"));
            Thread interrupter = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(seed * 13);
                while (!stop.get()) {
                    threads.get(r.nextInt(threads.size())).interrupt();
                    Thread.yield();
                }
            }, "chaos-interrupter");
            threads.forEach(Thread::start);
            interrupter.start();
            TimeUnit.SECONDS.sleep(SECONDS); // the run's length, not a synchronisation
            stop.set(true);
            interrupter.join(10_000);
            for (Thread t : threads) {
                t.join(10_000);
                assertThat(t.isAlive()).as("%s ended (seed %s)", t.getName(), seed).isFalse();
            }
            faults.off();
            Thread.interrupted();
            assertThat(failures).as("failures (seed %s)", seed).isEmpty();
            Invariants.assertClean(device);
            for (Slot[] slots : allSlots) {
                for (Slot s : slots) {
                    if (s.obj != null) {
                        if (s.obj.madvise(Madv.WILLNEED)) {
                            byte[] got = new byte[s.expected.length];
                            s.obj.read(0, got);
                            assertThat(got).as("%s after the run (seed %s)", s.obj.name(), seed)
                                    .isEqualTo(s.expected);
                        }
                        assertThat(s.obj.free().isEmpty()).as("%s leaks (seed %s)", s.obj.name(), seed).isTrue();
                    }
                }
            }
            Invariants.assertEmpty(device);
            assertThat(verified.get()).as("verifications").isPositive();
            assertThat(freshChecked.get()).as("fresh objects checked").isPositive();
            System.out.println("ChaosStressTest seed=" + seed + ": " + verified + " verifications, " + freshChecked
                    + " fresh objects read as zeros, " + faults.injected() + " faults injected");
        }
    }

    /** Whether a throwable is an expected outcome of an operation under chaos (the op failed; state is kept). */
    private static boolean expected(Throwable t) {
        return t instanceof GemException || t instanceof InjectedError || t instanceof IllegalStateException;
    }

    private static void work(GemDevice device, Evictor evictor, Slot[] slots, SplittableRandom r, AtomicBoolean stop,
            ConcurrentLinkedQueue<String> failures, AtomicLong fresh, AtomicLong verified) {
        while (!stop.get()) {
            Thread.interrupted();
            Slot s = slots[r.nextInt(slots.length)];
            try {
                step(device, evictor, s, r, failures, fresh, verified);
            } catch (Throwable t) {
                if (!expected(t)) {
                    failures.add(Thread.currentThread().getName() + ": " + t);
                    return;
                }
            }
        }
    }

    private static void step(GemDevice device, Evictor evictor, Slot s, SplittableRandom r,
            ConcurrentLinkedQueue<String> failures, AtomicLong fresh, AtomicLong verified) {
        if (s.obj == null) {
            int pages = 1 + r.nextInt(4);
            ShmemObject o = device.createObject(null, (long) pages * PAGE, evictor);
            s.obj = o;
            s.expected = new byte[pages * PAGE];
            o.getPagesSgt();
            byte[] got = new byte[s.expected.length];
            o.read(0, got);
            if (!Arrays.equals(got, s.expected)) {
                failures.add(o.name() + " is not zero when new");
            }
            fresh.incrementAndGet();
            return;
        }
        ShmemObject o = s.obj;
        switch (r.nextInt(8)) {
            case 0: { // write a new pattern through a mapping
                byte[] next = s.expected.clone();
                int at = r.nextInt(next.length);
                int len = Math.min(next.length - at, 1 + r.nextInt(2 * PAGE));
                for (int i = 0; i < len; i++) {
                    next[at + i] = (byte) r.nextInt();
                }
                if (o.madv() != Madv.WILLNEED) {
                    return;
                }
                try (VMap m = o.vmap()) {
                    m.write(at, next, at, len);
                    s.expected = next;
                }
                return;
            }
            case 1: { // verify
                byte[] got = new byte[s.expected.length];
                o.read(0, got);
                if (o.madv() == Madv.WILLNEED && !Arrays.equals(got, s.expected)) {
                    failures.add(o.name() + " lost its bytes");
                }
                verified.incrementAndGet();
                return;
            }
            case 2: // DONTNEED for a while
                o.madvise(Madv.DONTNEED);
                return;
            case 3: // WILLNEED again: purged means the contents are gone, start over
                if (!o.madvise(Madv.WILLNEED)) {
                    LeakReport leaks = o.free();
                    if (!leaks.isEmpty()) {
                        failures.add("purged " + o.name() + " leaks " + leaks);
                    }
                    s.obj = null;
                }
                return;
            case 4:
                o.evict();
                return;
            case 5:
                o.purge();
                if (o.madv() == Madv.PURGED) {
                    s.expected = new byte[s.expected.length];
                }
                return;
            case 6:
                try (Pin p = o.pin()) {
                    assertThat(p.object().isResident()).isTrue();
                }
                return;
            default: { // allocate around it: direct reclaim
                ShmemObject tmp = device.createObject(null, (long) (1 + r.nextInt(8)) * PAGE, evictor);
                try {
                    tmp.getPages().close();
                } finally {
                    tmp.free();
                }
            }
        }
    }

    /**
     * Copies through a mapping on one thread while this thread closes it, purges the object and takes its frames for
     * a fresh object, which must read as zeros: a copy that outlived its mapping would show here.
     */
    private static void closeWhileCopying(GemDevice device, SplittableRandom r, AtomicBoolean stop,
            ConcurrentLinkedQueue<String> failures, AtomicLong fresh) {
        byte[] junk = new byte[4 * PAGE];
        Arrays.fill(junk, (byte) 0x77);
        while (!stop.get()) {
            Thread.interrupted();
            ShmemObject victim = null;
            try {
                victim = device.createObject(null, 4L * PAGE);
                victim.getPagesSgt();
                VMap m = victim.vmap();
                Thread copier = new Thread(() -> {
                    try {
                        for (int i = 0; i < 4; i++) {
                            m.write(0, junk, 0, junk.length);
                        }
                    } catch (GemException e) {
                        // the mapping was closed under us: refused before touching a frame
                    }
                });
                copier.start();
                if (r.nextBoolean()) {
                    Thread.yield();
                }
                m.close();
                victim.madvise(Madv.DONTNEED);
                victim.purge();
                ShmemObject f = device.createObject(null, 4L * PAGE);
                try {
                    f.getPagesSgt();
                    copier.join(10_000);
                    byte[] got = new byte[junk.length];
                    f.read(0, got);
                    for (byte b : got) {
                        if (b != 0) {
                            failures.add("a copy through a closed mapping landed in " + f.name());
                            break;
                        }
                    }
                    fresh.incrementAndGet();
                } finally {
                    f.free();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Throwable t) {
                if (!expected(t)) {
                    failures.add(Thread.currentThread().getName() + ": " + t);
                    return;
                }
            } finally {
                if (victim != null && !victim.isFreed()) {
                    victim.free();
                }
            }
        }
    }
}
