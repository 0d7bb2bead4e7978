package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ch.qos.logback.classic.Level;
import dev.gemshrink.testing.CapturedLog;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryNotificationInfo;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.ListenerNotFoundException;
import javax.management.MBeanNotificationInfo;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationFilter;
import javax.management.NotificationListener;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;
import org.junit.jupiter.api.Test;

/**
 * {@link HeapPressureSource}: the heap usage thresholds are one per pool for the whole JVM, so sources share them
 * (the lowest live threshold is armed, closing one re-arms for the rest, the last close restores what was there);
 * notifications are routed to the sources whose threshold was reached; the reclaim never runs on, or throws into,
 * the JVM's notification thread. Most tests use fake pools and a fake emitter that delivers the way the JDK's
 * memory MXBean does ({@code sun.management.NotificationEmitterSupport}: a listener's Exception becomes an
 * AssertionError that ends the delivery to the other listeners; an Error goes straight through).
 */
class HeapPressureSourceTest {
    private static final long MAX = 1000;

    /** A heap pool with a settable usage threshold. */
    private static final class FakePool implements MemoryPoolMXBean {
        private final String name;
        private final AtomicLong threshold = new AtomicLong();
        volatile RuntimeException refuse;

        FakePool(String name) {
            this.name = name;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public MemoryType getType() {
            return MemoryType.HEAP;
        }

        @Override
        public MemoryUsage getUsage() {
            return new MemoryUsage(0, 0, MAX, MAX);
        }

        @Override
        public MemoryUsage getPeakUsage() {
            return getUsage();
        }

        @Override
        public void resetPeakUsage() {
        }

        @Override
        public boolean isValid() {
            return true;
        }

        @Override
        public String[] getMemoryManagerNames() {
            return new String[0];
        }

        @Override
        public long getUsageThreshold() {
            return threshold.get();
        }

        @Override
        public void setUsageThreshold(long t) {
            if (refuse != null) {
                throw refuse;
            }
            threshold.set(t);
        }

        @Override
        public boolean isUsageThresholdExceeded() {
            return false;
        }

        @Override
        public long getUsageThresholdCount() {
            return 0;
        }

        @Override
        public boolean isUsageThresholdSupported() {
            return true;
        }

        @Override
        public long getCollectionUsageThreshold() {
            return 0;
        }

        @Override
        public void setCollectionUsageThreshold(long t) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean isCollectionUsageThresholdExceeded() {
            return false;
        }

        @Override
        public long getCollectionUsageThresholdCount() {
            return 0;
        }

        @Override
        public MemoryUsage getCollectionUsage() {
            return null;
        }

        @Override
        public boolean isCollectionUsageThresholdSupported() {
            return false;
        }

        @Override
        public ObjectName getObjectName() {
            return null;
        }
    }

    /** Delivers like the JDK's memory MXBean: in the sending thread, in order; see the class comment. */
    private static final class JdkLikeEmitter implements NotificationEmitter {
        private final List<NotificationListener> listeners = new CopyOnWriteArrayList<>();

        @Override
        public void addNotificationListener(NotificationListener l, NotificationFilter f, Object handback) {
            listeners.add(l);
        }

        @Override
        public void removeNotificationListener(NotificationListener l) throws ListenerNotFoundException {
            if (!listeners.remove(l)) {
                throw new ListenerNotFoundException();
            }
        }

        @Override
        public void removeNotificationListener(NotificationListener l, NotificationFilter f, Object handback)
                throws ListenerNotFoundException {
            removeNotificationListener(l);
        }

        @Override
        public MBeanNotificationInfo[] getNotificationInfo() {
            return new MBeanNotificationInfo[0];
        }

        int listeners() {
            return listeners.size();
        }

        void send(Notification n) {
            for (NotificationListener l : listeners) {
                try {
                    l.handleNotification(n, null);
                } catch (Exception e) {
                    throw new AssertionError("Error in invoking listener");
                }
            }
        }
    }

    private static final AtomicLong SEQUENCE = new AtomicLong();

    /** A usage-threshold-exceeded notification as the JVM builds it. */
    private static Notification exceeded(FakePool pool, long used) {
        try {
            String[] u = {"init", "used", "committed", "max"};
            OpenType<?>[] longs = {SimpleType.LONG, SimpleType.LONG, SimpleType.LONG, SimpleType.LONG};
            CompositeType usageType = new CompositeType("MemoryUsage", "usage", u, u, longs);
            CompositeData usage = new CompositeDataSupport(usageType, u, new Object[] {0L, used, MAX, MAX});
            String[] i = {"poolName", "usage", "count"};
            CompositeType infoType = new CompositeType("MemoryNotificationInfo", "info", i, i,
                    new OpenType<?>[] {SimpleType.STRING, usageType, SimpleType.LONG});
            Notification n = new Notification(MemoryNotificationInfo.MEMORY_THRESHOLD_EXCEEDED,
                    "java.lang:type=Memory", SEQUENCE.incrementAndGet(), "threshold exceeded");
            n.setUserData(new CompositeDataSupport(infoType, i, new Object[] {pool.getName(), usage, 1L}));
            return n;
        } catch (OpenDataException e) {
            throw new AssertionError(e);
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(5, TimeUnit.SECONDS)).as("waited 5 s").isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Throws {@code t}, a RuntimeException or an Error, from a shrinker callback. */
    private static long raise(Throwable t) {
        if (t instanceof Error e) {
            throw e;
        }
        throw (RuntimeException) t;
    }

    @Test
    void aReclaimThatThrowsNeverReachesTheNotificationThreadAndLaterNotificationsStillWork() {
        FakePool pool = new FakePool("old");
        JdkLikeEmitter emitter = new JdkLikeEmitter();
        HeapPressureSource.Thresholds thresholds = new HeapPressureSource.Thresholds(List.of(pool), emitter);
        List<Throwable> failures = List.of(new IllegalStateException("shrinker bug"), new AssertionError("oops"));
        List<CountDownLatch> entered = List.of(new CountDownLatch(1), new CountDownLatch(1), new CountDownLatch(1));
        List<String> scanThreads = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger calls = new AtomicInteger();
        FakeShrinker f = new FakeShrinker("f", 1 << 20);
        f.onScan = sc -> {
            int call = calls.getAndIncrement();
            scanThreads.add(Thread.currentThread().getName());
            entered.get(call).countDown();
            return call < failures.size() ? raise(failures.get(call)) : sc.nrToScan();
        };
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(f);
        AtomicInteger othersTold = new AtomicInteger();
        try (CapturedLog log = CapturedLog.of(HeapPressureSource.class)) {
            try (HeapPressureSource source = new HeapPressureSource(registry, 0.5, 64, thresholds)) {
                emitter.addNotificationListener((n, h) -> othersTold.incrementAndGet(), null, null); // someone else's
                for (int i = 0; i < 3; i++) {
                    // Sent after the previous reclaim started, so that each notification runs one reclaim.
                    emitter.send(exceeded(pool, 600));
                    await(entered.get(i));
                }
                assertThat(othersTold.get()).as("the other listener got every notification").isEqualTo(3);
                assertThat(source.failures()).as("the RuntimeException and the Error, logged").isEqualTo(2);
                assertThat(source.events()).isEqualTo(3);
                assertThat(scanThreads).as("never on the notification thread")
                        .noneMatch(t -> t.equals(Thread.currentThread().getName()));
            }
            assertThat(log.messages(Level.WARN)).containsExactly("heap-triggered reclaim failed");
            assertThat(log.messages(Level.ERROR))
                    .containsExactly("heap-triggered reclaim failed with an error; the source keeps running");
        }
        assertThat(f.scans()).containsExactly(64L, 64L, 64L);
    }

    @Test
    void closeWaitsForTheReclaimInFlightAndNoReclaimRunsAfterIt() throws Exception {
        FakePool pool = new FakePool("old");
        JdkLikeEmitter emitter = new JdkLikeEmitter();
        HeapPressureSource.Thresholds thresholds = new HeapPressureSource.Thresholds(List.of(pool), emitter);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        FakeShrinker f = new FakeShrinker("slow", 1 << 20);
        f.onScan = sc -> {
            entered.countDown();
            await(release);
            return sc.nrToScan();
        };
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(f);
        HeapPressureSource source = new HeapPressureSource(registry, 0.5, 64, thresholds);
        emitter.send(exceeded(pool, 600));
        await(entered);
        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = new Thread(() -> {
            source.close();
            closed.countDown();
        }, "closer");
        closer.setDaemon(true);
        closer.start();
        assertThat(closed.await(200, TimeUnit.MILLISECONDS)).as("close returned during the reclaim").isFalse();
        release.countDown();
        await(closed);
        assertThat(source.isActive()).isFalse();
        assertThat(emitter.listeners()).as("the last source removed the listener").isZero();
        assertThat(f.scanCalls()).isEqualTo(1);
    }

    @Test
    void notificationsGoToTheSourcesWhoseThresholdTheUsageReached() {
        FakePool pool = new FakePool("old");
        JdkLikeEmitter emitter = new JdkLikeEmitter();
        HeapPressureSource.Thresholds thresholds = new HeapPressureSource.Thresholds(List.of(pool), emitter);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        try (HeapPressureSource low = new HeapPressureSource(registry, 0.5, 1, thresholds);
                HeapPressureSource high = new HeapPressureSource(registry, 0.8, 1, thresholds)) {
            assertThat(pool.getUsageThreshold()).isEqualTo(500);
            assertThat(emitter.listeners()).as("one listener for all sources").isEqualTo(1);
            emitter.send(exceeded(pool, 600));
            assertThat(low.events()).isEqualTo(1);
            assertThat(high.events()).isZero();
            emitter.send(exceeded(pool, 900));
            assertThat(low.events()).isEqualTo(2);
            assertThat(high.events()).isEqualTo(1);
            emitter.send(exceeded(new FakePool("other"), 900));
            assertThat(low.events() + high.events()).as("a pool no source armed").isEqualTo(3);
        }
        assertThat(pool.getUsageThreshold()).isZero();
        assertThat(emitter.listeners()).isZero();
    }

    @Test
    void aThresholdSetBySomeoneElseMeanwhileIsKeptAndRestored() {
        FakePool pool = new FakePool("old");
        JdkLikeEmitter emitter = new JdkLikeEmitter();
        HeapPressureSource.Thresholds thresholds = new HeapPressureSource.Thresholds(List.of(pool), emitter);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        HeapPressureSource a = new HeapPressureSource(registry, 0.5, 1, thresholds);
        pool.setUsageThreshold(300); // another library in the process
        HeapPressureSource b = new HeapPressureSource(registry, 0.6, 1, thresholds);
        assertThat(pool.getUsageThreshold()).as("the lower foreign threshold stays armed").isEqualTo(300);
        a.close();
        b.close();
        assertThat(pool.getUsageThreshold()).isEqualTo(300);
    }

    @Test
    void aPoolRefusingItsThresholdLeavesEverythingAsItWas() {
        FakePool first = new FakePool("first");
        FakePool second = new FakePool("second");
        first.setUsageThreshold(700);
        second.refuse = new IllegalArgumentException("refused");
        JdkLikeEmitter emitter = new JdkLikeEmitter();
        HeapPressureSource.Thresholds thresholds = new HeapPressureSource.Thresholds(List.of(first, second), emitter);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        assertThatThrownBy(() -> new HeapPressureSource(registry, 0.5, 1, thresholds)).isSameAs(second.refuse);
        assertThat(first.getUsageThreshold()).isEqualTo(700);
        assertThat(emitter.listeners()).isZero();

        second.refuse = null;
        try (HeapPressureSource s = new HeapPressureSource(registry, 0.5, 1, thresholds)) {
            assertThat(s.isActive()).isTrue();
            assertThat(first.getUsageThreshold()).isEqualTo(500);
            assertThat(second.getUsageThreshold()).isEqualTo(500);
        }
        assertThat(first.getUsageThreshold()).isEqualTo(700);
        assertThat(second.getUsageThreshold()).isZero();
    }

    @Test
    void noPoolWithAThresholdMeansInactive() {
        JdkLikeEmitter emitter = new JdkLikeEmitter();
        HeapPressureSource.Thresholds none = new HeapPressureSource.Thresholds(List.of(), emitter);
        try (HeapPressureSource s = new HeapPressureSource(new ShrinkerRegistry(), 0.5, 1, none)) {
            assertThat(s.isActive()).isFalse();
            assertThat(emitter.listeners()).isZero();
        }
    }

    /** The heap pools of this JVM that take a usage threshold. */
    private static List<MemoryPoolMXBean> jvmHeapPools() {
        return ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP && p.isUsageThresholdSupported()
                        && p.getUsage().getMax() > 0)
                .collect(Collectors.toList());
    }

    private static long at(MemoryPoolMXBean p, double fraction) {
        return (long) (p.getUsage().getMax() * fraction);
    }

    @Test
    void sourcesShareTheJvmWideThresholdAndTheLastCloseRestoresThePreviousOne() {
        List<MemoryPoolMXBean> pools = jvmHeapPools();
        assumeFalse(pools.isEmpty(), "no heap pool supports usage thresholds in this JVM");
        long[] before = pools.stream().mapToLong(MemoryPoolMXBean::getUsageThreshold).toArray();
        ShrinkerRegistry registry = new ShrinkerRegistry();
        try {
            // Someone else in this JVM set a threshold first.
            pools.forEach(p -> p.setUsageThreshold(at(p, 0.97)));

            HeapPressureSource low = new HeapPressureSource(registry, 0.90, 64);
            HeapPressureSource high = new HeapPressureSource(registry, 0.95, 64);
            assertThat(low.isActive()).isTrue();
            assertThat(high.isActive()).isTrue();
            pools.forEach(p -> assertThat(p.getUsageThreshold()).as("%s: the lowest wins", p.getName())
                    .isEqualTo(at(p, 0.90)));

            high.close();
            assertThat(high.isActive()).isFalse();
            assertThat(low.isActive()).isTrue();
            pools.forEach(p -> assertThat(p.getUsageThreshold()).as("%s: still armed for low", p.getName())
                    .isEqualTo(at(p, 0.90)));

            HeapPressureSource again = new HeapPressureSource(registry, 0.95, 64);
            low.close();
            assertThat(again.isActive()).isTrue();
            pools.forEach(p -> assertThat(p.getUsageThreshold()).as("%s: re-armed for the one left", p.getName())
                    .isEqualTo(at(p, 0.95)));

            again.close();
            again.close(); // idempotent
            pools.forEach(p -> assertThat(p.getUsageThreshold()).as("%s: the previous threshold is back",
                    p.getName()).isEqualTo(at(p, 0.97)));
        } finally {
            for (int i = 0; i < pools.size(); i++) {
                pools.get(i).setUsageThreshold(before[i]);
            }
        }
    }
}
