package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.Placement;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.CapturedLog;
import dev.gemshrink.testing.Invariants;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The pressure sources that drive reclaim without an allocation failing: the kswapd-like
 * {@link BackgroundReclaimer} (low/high watermarks), {@link PsiPressureSource} (parsing and polling a PSI file) and
 * {@link HeapPressureSource} (creation and close only: whether it fires depends on the GC). All waits are bounded.
 */
class PressureTest {
    private static final int PAGE = PagePool.PAGE_SIZE;
    private static final String PSI_TEXT = "some avg10=1.23 avg60=0.50 avg300=0.10 total=12345\n"
            + "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";

    @TempDir
    Path dir;

    private GemDevice device;

    @AfterEach
    void tearDown() {
        if (device != null) {
            device.close();
        }
    }

    private static boolean waitFor(BooleanSupplier condition, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    /** The kswapd threads alive now (other test classes' reclaimers included, hence the before/after sets). */
    private static Set<Thread> kswapdThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("gemshrink-kswapd") && t.isAlive())
                .collect(Collectors.toSet());
    }

    private ShmemObject object(String name, int pages, Madv advice) {
        ShmemObject o = device.createObject(name, (long) pages * PAGE);
        o.getPagesSgt();
        o.madvise(advice);
        Invariants.assertClean(device);
        return o;
    }

    // ------------------------------------------------------------------ kswapd

    @Test
    void backgroundReclaimerRestoresTheHighWatermark() throws Exception {
        device = GemDevice.builder().ramPages(64).swap(SwapStore.none()).leakDetection(LeakDetection.SIMPLE).build();
        List<ShmemObject> dontneed = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            dontneed.add(object("d" + i, 8, Madv.DONTNEED));
        }
        assertThat(device.pool().freePages()).isEqualTo(24);

        BackgroundReclaimer kswapd = new BackgroundReclaimer(device.pool(), device.shrinkers(), 16, 32);
        Set<Thread> before = kswapdThreads();
        try {
            assertThat(kswapd.start()).isSameAs(kswapd);
            kswapd.start(); // idempotent
            Set<Thread> mine = kswapdThreads();
            mine.removeAll(before);
            assertThat(mine).as("one daemon thread started").hasSize(1).allMatch(Thread::isDaemon);
            assertThat(kswapd.reclaimed()).isZero();

            // 8 pages free after this: below the low watermark. No invariant check while kswapd runs (device-wide
            // sums are exact only when no other thread changes the device).
            ShmemObject w = device.createObject("w", 16L * PAGE);
            w.getPagesSgt();
            assertThat(waitFor(() -> device.pool().freePages() >= 32 && kswapd.reclaimed() > 0, 5000))
                    .as("free pages back above the high watermark; free=%d reclaimed=%d",
                            device.pool().freePages(), kswapd.reclaimed())
                    .isTrue();
            assertThat(kswapd.wakeups()).isPositive();
            kswapd.close();
            assertThat(mine).as("thread stopped by close()").noneMatch(Thread::isAlive);
            Invariants.assertClean(device);

            assertThat(device.placementOf(w)).isEqualTo(Placement.EVICTABLE);
            assertThat(device.pool().freePages()).isGreaterThanOrEqualTo(32);
            assertThat(dontneed.get(0).madv()).as("the least recently used goes first").isEqualTo(Madv.PURGED);
            long purgedPages = dontneed.stream().filter(o -> o.madv() == Madv.PURGED).count() * 8;
            assertThat(kswapd.reclaimed()).isEqualTo(purgedPages);
        } finally {
            kswapd.close();
        }
    }

    @Test
    void aClosedBackgroundReclaimerDoesNothing() throws Exception {
        device = GemDevice.builder().ramPages(32).swap(SwapStore.none()).leakDetection(LeakDetection.SIMPLE).build();
        Set<Thread> before = kswapdThreads();
        BackgroundReclaimer kswapd = new BackgroundReclaimer(device.pool(), device.shrinkers(), 8, 16).start();
        kswapd.close();
        kswapd.close(); // idempotent
        assertThat(kswapdThreads()).as("no thread of this reclaimer left").isSubsetOf(before);
        object("d0", 16, Madv.DONTNEED);
        object("d1", 12, Madv.DONTNEED); // 4 free: below low
        Thread.sleep(150); // longer than the reclaimer's timer
        assertThat(kswapd.wakeups()).isZero();
        assertThat(kswapd.reclaimed()).isZero();
        assertThat(device.pool().freePages()).isEqualTo(4);
        Invariants.assertClean(device);
    }

    @Test
    void backgroundReclaimerValidatesItsWatermarks() {
        PagePool pool = PagePool.ofPages(16);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        assertThatThrownBy(() -> new BackgroundReclaimer(pool, registry, -1, 4))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BackgroundReclaimer(pool, registry, 8, 4))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BackgroundReclaimer(pool, registry, 4, 17))
                .isInstanceOf(IllegalArgumentException.class);
        new BackgroundReclaimer(pool, registry, 16, 16).close(); // never started: close is a no-op
    }

    // ------------------------------------------------------------------ PSI

    @Test
    void readsSomeAvg10FromARealPsiFile() throws Exception {
        Path f = Files.writeString(dir.resolve("memory"), PSI_TEXT, StandardCharsets.US_ASCII);
        assertThat(PsiPressureSource.readSomeAvg10(f)).hasValue(1.23);

        Path fullOnly = Files.writeString(dir.resolve("full"), "full avg10=9.00 avg60=0 avg300=0 total=1\n");
        assertThat(PsiPressureSource.readSomeAvg10(fullOnly)).isEmpty();
        Path bad = Files.writeString(dir.resolve("bad"), "some avg10=x avg60=0.50 avg300=0.10 total=1\n");
        assertThat(PsiPressureSource.readSomeAvg10(bad)).isEmpty();
        Path empty = Files.writeString(dir.resolve("empty"), "");
        assertThat(PsiPressureSource.readSomeAvg10(empty)).isEmpty();
        assertThat(PsiPressureSource.readSomeAvg10(dir.resolve("missing"))).isEmpty();
        assertThat(PsiPressureSource.readSomeAvg10(dir)).as("a directory").isEmpty();
        assertThat(PsiPressureSource.PSI_MEMORY).isEqualTo(Path.of("/proc/pressure/memory"));
    }

    @Test
    void readsTheRealProcFileWhenPresent() {
        OptionalDouble v = PsiPressureSource.readSomeAvg10(PsiPressureSource.PSI_MEMORY);
        if (Files.isReadable(PsiPressureSource.PSI_MEMORY) && v.isPresent()) {
            assertThat(v.getAsDouble()).isBetween(0.0, 100.0);
        }
    }

    @Test
    void aSourceOverAMissingFileIsInactiveAndSaysSo() {
        Logger logger = (Logger) LoggerFactory.getLogger(PsiPressureSource.class);
        Level level = logger.getLevel();
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        logger.setLevel(Level.INFO);
        FakeShrinker f = new FakeShrinker("f", 100);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(f);
        Path missing = dir.resolve("no-such-psi");
        try (PsiPressureSource psi = new PsiPressureSource(registry, missing, 0.0, 16, 20)) {
            assertThat(psi.isActive()).isFalse();
            assertThat(psi.events()).isZero();
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(level);
        }
        assertThat(appender.list).extracting(ILoggingEvent::getFormattedMessage)
                .anyMatch(m -> m.contains("PSI") && m.contains(missing.toString()));
        assertThat(f.counts.get()).isZero();
    }

    @Test
    void aSourceAboveItsThresholdTriggersReclaim() throws Exception {
        Path file = Files.writeString(dir.resolve("memory"), PSI_TEXT.replace("1.23", "42.50"));
        FakeShrinker f = new FakeShrinker("f", 1 << 20);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        ShrinkerRegistry.Registration r = registry.register(f);
        PsiPressureSource psi = new PsiPressureSource(registry, file, 10.0, 64, 20);
        try {
            assertThat(psi.isActive()).isTrue();
            assertThat(waitFor(() -> psi.events() > 0 && r.stats().freed() > 0, 5000))
                    .as("PSI above the threshold ran reclaim").isTrue();
        } finally {
            psi.close();
        }
        long events = psi.events();
        Thread.sleep(100); // five periods
        assertThat(psi.events()).as("no polling after close").isEqualTo(events);
    }

    @Test
    void closeWaitsForAPollInFlightWithoutInterruptingIt() throws Exception {
        Path file = Files.writeString(dir.resolve("memory"), PSI_TEXT.replace("1.23", "42.50"));
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch closing = new CountDownLatch(1);
        AtomicBoolean interrupted = new AtomicBoolean();
        AtomicBoolean scanDone = new AtomicBoolean();
        FakeShrinker f = new FakeShrinker("slow", 1 << 20);
        f.onScan = sc -> {
            if (entered.getCount() == 0) {
                return sc.nrToScan(); // only the first call is slow
            }
            entered.countDown();
            try {
                closing.await(5, TimeUnit.SECONDS);
                Thread.sleep(100); // close() runs meanwhile
            } catch (InterruptedException e) {
                interrupted.set(true);
            }
            if (Thread.currentThread().isInterrupted()) {
                interrupted.set(true);
            }
            scanDone.set(true);
            return sc.nrToScan();
        };
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(f);
        PsiPressureSource psi = new PsiPressureSource(registry, file, 10.0, 64, 20);
        try {
            assertThat(entered.await(5, TimeUnit.SECONDS)).as("a poll ran reclaim").isTrue();
            closing.countDown();
        } finally {
            psi.close();
        }
        // An interrupt would also close any FileChannel the reclaim was writing swap to, for good.
        assertThat(interrupted.get()).as("the reclaim in flight was interrupted by close()").isFalse();
        assertThat(scanDone.get()).as("close() returned before the reclaim in flight finished").isTrue();
    }

    @Test
    void aReclaimThatThrowsDoesNotStopThePolling() throws Exception {
        Path file = Files.writeString(dir.resolve("memory"), PSI_TEXT.replace("1.23", "42.50"));
        List<Throwable> failures = List.of(new IllegalStateException("shrinker bug"), new AssertionError("oops"));
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch afterFailures = new CountDownLatch(1);
        FakeShrinker f = new FakeShrinker("f", 1 << 20);
        f.onScan = sc -> {
            int call = calls.getAndIncrement();
            if (call < failures.size()) {
                Throwable t = failures.get(call);
                if (t instanceof Error e) {
                    throw e;
                }
                throw (RuntimeException) t;
            }
            afterFailures.countDown();
            return sc.nrToScan();
        };
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(f);
        try (CapturedLog log = CapturedLog.of(PsiPressureSource.class)) {
            try (PsiPressureSource psi = new PsiPressureSource(registry, file, 10.0, 64, 20)) {
                assertThat(afterFailures.await(5, TimeUnit.SECONDS)).as("polls went on after the Error").isTrue();
                assertThat(psi.isActive()).isTrue();
                assertThat(psi.failures()).isEqualTo(2);
            }
            assertThat(log.messages(Level.WARN)).containsExactly("PSI-triggered reclaim failed");
            assertThat(log.messages(Level.ERROR))
                    .containsExactly("PSI-triggered reclaim failed with an error; polling goes on");
        }
    }

    @Test
    void closeFromInsideItsOwnReclaimDoesNotWaitForItself() throws Exception {
        Path file = Files.writeString(dir.resolve("memory"), PSI_TEXT.replace("1.23", "42.50"));
        AtomicReference<PsiPressureSource> self = new AtomicReference<>();
        CountDownLatch created = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        FakeShrinker f = new FakeShrinker("closes-the-source", 1 << 20);
        f.onScan = sc -> {
            try {
                assertThat(created.await(5, TimeUnit.SECONDS)).isTrue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (closed.getCount() > 0) {
                long start = System.nanoTime();
                self.get().close();
                if (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5)) {
                    closed.countDown();
                }
            }
            return sc.nrToScan();
        };
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(f);
        self.set(new PsiPressureSource(registry, file, 10.0, 64, 20));
        created.countDown();
        assertThat(closed.await(8, TimeUnit.SECONDS)).as("close from its own poll returned at once").isTrue();
        long events = self.get().events();
        self.get().close();
        assertThat(self.get().events()).isEqualTo(events);
    }

    @Test
    void aPsiSourceRejectsBadArguments() throws Exception {
        Path file = Files.writeString(dir.resolve("memory"), PSI_TEXT);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        List<org.assertj.core.api.ThrowableAssert.ThrowingCallable> bad = List.of(
                () -> new PsiPressureSource(registry, file, Double.NaN, 64, 20),
                () -> new PsiPressureSource(registry, file, -1, 64, 20),
                () -> new PsiPressureSource(registry, file, 100.5, 64, 20),
                () -> new PsiPressureSource(registry, file, 10, 0, 20),
                () -> new PsiPressureSource(registry, file, 10, 64, 0));
        for (int i = 0; i < bad.size(); i++) {
            assertThatThrownBy(bad.get(i)).as("case %d", i).isInstanceOf(GemException.class)
                    .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EINVAL);
        }
        assertThatThrownBy(() -> new PsiPressureSource(null, file, 10, 64, 20))
                .isInstanceOf(NullPointerException.class);
    }

    @Test
    void aSourceBelowItsThresholdDoesNothing() throws Exception {
        Path file = Files.writeString(dir.resolve("memory"), PSI_TEXT);
        FakeShrinker f = new FakeShrinker("f", 1 << 20);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(f);
        try (PsiPressureSource psi = new PsiPressureSource(registry, file, 10.0, 64, 20)) {
            assertThat(psi.isActive()).isTrue();
            Thread.sleep(120);
            assertThat(psi.events()).isZero();
            // The average rises: the next poll reclaims.
            Files.writeString(dir.resolve("memory.tmp"), PSI_TEXT.replace("1.23", "10.00"));
            Files.move(dir.resolve("memory.tmp"), file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            assertThat(waitFor(() -> psi.events() > 0, 5000)).isTrue();
        }
        assertThat(f.counts.get()).isPositive();
    }

    @Test
    void psiDrivesTheDeviceShrinker() throws Exception {
        device = GemDevice.builder().ramPages(64).swap(SwapStore.none()).leakDetection(LeakDetection.SIMPLE).build();
        ShmemObject d = object("d", 8, Madv.DONTNEED);
        Path file = Files.writeString(dir.resolve("memory"), PSI_TEXT.replace("1.23", "99.99"));
        try (PsiPressureSource psi = new PsiPressureSource(device.shrinkers(), file, 50.0, 8, 20)) {
            assertThat(psi.isActive()).isTrue();
            assertThat(waitFor(() -> d.madv() == Madv.PURGED, 5000)).isTrue();
        }
        Invariants.assertClean(device);
        assertThat(device.pool().usedPages()).isZero();
    }

    // ------------------------------------------------------------------ heap

    @Test
    void heapPressureSourceCanBeCreatedAndClosed() {
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(new FakeShrinker("f", 0));
        HeapPressureSource heap = new HeapPressureSource(registry, 0.99, 64);
        try {
            assertThat(heap.events()).isGreaterThanOrEqualTo(0);
            boolean active = heap.isActive(); // depends on the GC
            assertThat(active).isIn(true, false);
        } finally {
            heap.close();
        }
        assertThat(heap.isActive()).as("disarmed by close").isFalse();
        heap.close(); // idempotent
    }

    @Test
    void heapPressureSourceRejectsABadFraction() {
        ShrinkerRegistry registry = new ShrinkerRegistry();
        for (double bad : new double[] {0.0, -0.5, 1.01, Double.NaN}) {
            assertThatThrownBy(() -> new HeapPressureSource(registry, bad, 1))
                    .as("fraction %s", bad).isInstanceOf(GemException.class)
                    .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EINVAL);
        }
    }
}
