package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.testing.Invariants;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Under every built-in policy the core, not the policy, decides what is reclaimable: a scan asked for everything
 * purges and evicts every idle object and never a pinned, CPU-mapped, exported, busy (its evictor refuses) or
 * locked one, however often those were used and wherever they sit in the policy's queues between the victims; their
 * contents stay intact, and once released they are reclaimed by the next scan (they never left the order). And
 * objects freed while a pass is inside an evictor (holding no LRU lock) leave the order, and the pass goes on.
 */
class PolicyReclaimSafetyTest {
    private static final int PAGE = PagePool.PAGE_SIZE;

    static Stream<ReclaimPolicy> policies() {
        return ReclaimPolicy.builtIns().stream();
    }

    private static byte[] pattern(ShmemObject o) {
        byte[] b = new byte[PAGE];
        Arrays.fill(b, (byte) o.name().hashCode());
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("policies")
    void aScanForEverythingTakesOnlyWhatTheCoreFindsReclaimable(ReclaimPolicy policy) {
        try (GemDevice device = GemDevice.builder().ramPages(256).swap(SwapStore.inMemory(256))
                .leakDetection(LeakDetection.SIMPLE).reclaimPolicy(policy).build()) {
            List<ShmemObject> idle = new ArrayList<>();
            List<ShmemObject> kept = new ArrayList<>();
            List<AutoCloseable> holds = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                idle.add(object(device, "dontneed" + i, Evictor.shmem(), true));
                idle.add(object(device, "willneed" + i, Evictor.shmem(), false));
                ShmemObject pinned = object(device, "pinned" + i, Evictor.shmem(), false);
                holds.add(pinned.pin());
                ShmemObject mapped = object(device, "mapped" + i, Evictor.shmem(), false);
                holds.add(mapped.vmap());
                ShmemObject exported = object(device, "exported" + i, Evictor.shmem(), i % 2 == 0);
                holds.add(exported.export());
                kept.add(pinned);
                kept.add(mapped);
                kept.add(exported);
                kept.add(object(device, "busy" + i, NothingLostTest.ALWAYS_BUSY, i % 2 == 0));
            }
            ShmemObject locked = object(device, "locked", Evictor.shmem(), true);
            kept.add(locked);
            // Use the kept objects often (visited bits, frequencies, protected segments) and the idle ones once.
            for (int round = 0; round < 3; round++) {
                for (ShmemObject k : kept) {
                    Pin p = k.pin();
                    try {
                        k.read(0, new byte[1]);
                    } finally {
                        p.close();
                    }
                }
            }
            for (ShmemObject o : idle) {
                Madv m = o.madv();
                o.madvise(Madv.WILLNEED);
                o.madvise(m);
            }
            Invariants.assertClean(device);

            locked.resv().lock(); // the scan runs on this thread: its try-lock of a lock it holds fails
            long freed;
            try {
                freed = device.shrinker().scan(1 << 20);
            } finally {
                locked.resv().unlock();
            }
            assertThat(freed).as("every idle page").isEqualTo(idle.size());
            for (ShmemObject o : idle) {
                assertThat(o.isResident()).as(o.name()).isFalse();
            }
            for (ShmemObject k : kept) {
                assertThat(k.isResident()).as(k.name()).isTrue();
                byte[] back = new byte[PAGE];
                k.read(0, back);
                assertThat(back).as(k.name()).isEqualTo(pattern(k));
            }
            Invariants.assertClean(device);

            for (AutoCloseable h : holds) {
                close(h);
            }
            long second = device.shrinker().scan(1 << 20);
            assertThat(second).as("released: pinned, mapped, exported and locked; busy ones still refuse")
                    .isEqualTo(3 * 6 + 1);
            Invariants.assertClean(device);
            idle.forEach(ShmemObject::free);
            kept.forEach(ShmemObject::free);
            Invariants.assertEmpty(device);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("policies")
    void anObjectFreedWhileTheScanIsInAnEvictorLeavesTheOrderAndThePassGoesOn(ReclaimPolicy policy)
            throws Exception {
        try (GemDevice device = GemDevice.builder().ramPages(16).leakDetection(LeakDetection.SIMPLE)
                .reclaimPolicy(policy).build()) {
            CountDownLatch inEvictor = new CountDownLatch(1);
            CountDownLatch freed = new CountDownLatch(1);
            Evictor gated = new Evictor() {
                @Override
                public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
                    inEvictor.countDown();
                    try {
                        assertThat(freed.await(10, TimeUnit.SECONDS)).isTrue();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                    return Evictor.shmem().purge(obj, permit);
                }

                @Override
                public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
                    return Outcome.BUSY;
                }
            };
            List<ShmemObject> objects = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                objects.add(object(device, "o" + i, gated, true));
            }
            AtomicLong purged = new AtomicLong();
            Thread scanner = new Thread(() -> purged.set(device.shrinker().scan(4)), "scanner");
            scanner.start();
            assertThat(inEvictor.await(10, TimeUnit.SECONDS)).isTrue();
            // The scanner holds its victim's lock and not the LRU lock: free every other object under it.
            List<ShmemObject> others = new ArrayList<>();
            for (ShmemObject o : objects) {
                if (o.resv().tryLock()) {
                    o.resv().unlock();
                    others.add(o);
                }
            }
            assertThat(others).hasSize(3);
            others.forEach(o -> assertThat(o.free().isEmpty()).isTrue());
            freed.countDown();
            scanner.join(10_000);
            assertThat(scanner.isAlive()).isFalse();
            assertThat(purged.get()).as("the victim in the evictor; the freed ones are gone").isEqualTo(1);
            Invariants.assertClean(device);
            objects.stream().filter(o -> !others.contains(o)).forEach(ShmemObject::free);
            Invariants.assertEmpty(device);
        }
    }

    private static void close(AutoCloseable h) {
        try {
            h.close();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A one-page object with its stored sg table and a pattern, DONTNEED or WILLNEED. */
    private static ShmemObject object(GemDevice device, String name, Evictor evictor, boolean dontneed) {
        ShmemObject o = device.createObject(name, PAGE, evictor);
        o.getPagesSgt();
        o.write(0, pattern(o));
        if (dontneed) {
            o.madvise(Madv.DONTNEED);
        }
        return o;
    }
}
