package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.testing.FaultySwapStore;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.ThreadStates;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Buffered placement moves ({@link LruMoves}): recorded without the LRU lock, applied by drains in stamp order.
 * The lists are looked at through references taken once, without draining, so each test sees what is buffered and
 * what is applied.
 */
class LruMovesTest {
    private static final int PAGE = PagePool.PAGE_SIZE;

    private GemDevice device;
    private final Map<Placement, GemLru<ShmemObject>> lists = new EnumMap<>(Placement.class);

    @BeforeEach
    void setUp() {
        device = GemDevice.builder().ramPages(1024).leakDetection(LeakDetection.SIMPLE).build();
        for (Placement p : Placement.values()) {
            if (p != Placement.NONE) {
                lists.put(p, device.lru(p));
            }
        }
    }

    @AfterEach
    void tearDown() {
        Invariants.assertClean(device);
        device.close();
    }

    /** Objects with their stored sg table, WILLNEED, 1 page each; their moves applied. */
    private ShmemObject[] evictable(String prefix, int n) {
        ShmemObject[] out = new ShmemObject[n];
        for (int i = 0; i < n; i++) {
            out[i] = device.createObject(prefix + i, PAGE);
            out[i].getPagesSgt();
        }
        device.drainMoves();
        assertThat(device.moves().pending()).isFalse();
        return out;
    }

    /** A list from head to tail as it is now, buffered moves not applied. */
    private List<String> raw(Placement p) {
        List<String> names = new ArrayList<>();
        device.lruLock().lock();
        try {
            GemLru<ShmemObject> l = lists.get(p);
            for (ShmemObject o = l.head(); o != null; o = l.next(o)) {
                names.add(o.name());
            }
        } finally {
            device.lruLock().unlock();
        }
        return names;
    }

    @Test
    void aStateChangeIsBufferedUntilADrain() {
        ShmemObject[] o = evictable("o", 2);
        o[0].madvise(Madv.DONTNEED);
        assertThat(device.moves().pending()).isTrue();
        assertThat(raw(Placement.EVICTABLE)).containsExactly("o0", "o1");
        assertThat(raw(Placement.PURGEABLE)).isEmpty();

        device.drainMoves();
        assertThat(raw(Placement.EVICTABLE)).containsExactly("o1");
        assertThat(raw(Placement.PURGEABLE)).containsExactly("o0");
    }

    @Test
    void anObjectIsBufferedOnceAndItsLatestMoveIsApplied() {
        ShmemObject[] o = evictable("o", 3);
        o[0].madvise(Madv.DONTNEED);
        o[1].madvise(Madv.DONTNEED);
        o[0].madvise(Madv.WILLNEED);
        o[0].madvise(Madv.DONTNEED); // o0 changed last: it goes after o1
        device.drainMoves();
        assertThat(raw(Placement.PURGEABLE)).containsExactly("o1", "o0");
        assertThat(raw(Placement.EVICTABLE)).containsExactly("o2");
    }

    @Test
    void theScannerDrainsBeforeItScans() {
        ShmemObject[] o = evictable("o", 2);
        o[0].madvise(Madv.DONTNEED);
        o[1].madvise(Madv.DONTNEED);
        device.drainMoves();
        o[0].madvise(Madv.DONTNEED); // a touch: o0 becomes the most recently used, but only in the buffer
        assertThat(raw(Placement.PURGEABLE)).containsExactly("o0", "o1");

        assertThat(device.shrinker().scan(1)).isEqualTo(1);

        assertThat(o[1].madv()).as("the least recently used by the moves").isEqualTo(Madv.PURGED);
        assertThat(o[0].madv()).isEqualTo(Madv.DONTNEED);
        assertThat(device.moves().pending()).as("the scan applied its own purge's move too").isFalse();
        assertThat(raw(Placement.PURGEABLE)).containsExactly("o0");
    }

    @Test
    void aFailedReclaimGoesToTheTailBeforeTheSkippedObjectsReturn() {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(64));
        try (GemDevice d = GemDevice.builder().ramPages(64).swap(swap).leakDetection(LeakDetection.SIMPLE).build()) {
            ShmemObject e0 = d.createObject("e0", PAGE);
            ShmemObject e1 = d.createObject("e1", PAGE);
            e0.getPagesSgt();
            e1.getPagesSgt();
            swap.failStores(true); // e0's eviction fails after its state change began: it moves to the tail
            e1.resv().lock(); // e1 is skipped: the scanner's try-lock fails
            try {
                assertThat(d.shrinker().scan(8)).isZero();
            } finally {
                e1.resv().unlock();
            }
            swap.heal();
            List<String> names = new ArrayList<>();
            d.lruLock().lock();
            try {
                GemLru<ShmemObject> l = d.lru(Placement.EVICTABLE);
                for (ShmemObject o = l.head(); o != null; o = l.next(o)) {
                    names.add(o.name());
                }
            } finally {
                d.lruLock().unlock();
            }
            assertThat(names).containsExactly("e0", "e1");
            Invariants.assertClean(d);
        }
    }

    @Test
    void theCountSeesBufferedMoves() {
        ShmemObject[] o = evictable("o", 3);
        o[0].madvise(Madv.DONTNEED);
        o[2].madvise(Madv.DONTNEED);
        assertThat(device.shrinker().count()).isEqualTo(2);
        Pin p = o[0].pin();
        try {
            assertThat(device.shrinker().count()).as("a pinned object is not counted").isEqualTo(1);
        } finally {
            p.close();
        }
    }

    @Test
    void aFullStripeIsDrainedByTheThreadThatFindsItFull() {
        int n = MoveBuffer.RING_SIZE;
        ShmemObject[] o = evictable("o", n + 1);
        for (int i = 0; i < n; i++) {
            o[i].madvise(Madv.DONTNEED);
        }
        assertThat(device.moves().pending()).isTrue();
        assertThat(raw(Placement.PURGEABLE)).isEmpty();

        o[n].madvise(Madv.DONTNEED); // this thread's stripe is full: it drains, its own move included

        assertThat(device.moves().pending()).isFalse();
        List<String> all = new ArrayList<>();
        for (ShmemObject x : o) {
            all.add(x.name());
        }
        assertThat(raw(Placement.PURGEABLE)).containsExactlyElementsOf(all);
        assertThat(raw(Placement.EVICTABLE)).isEmpty();
    }

    @Test
    void aDrainWhoseTryLockFailsLosesNothing() throws Exception {
        int n = MoveBuffer.RING_SIZE;
        ShmemObject a = evictable("a", 1)[0];
        ShmemObject[] w = evictable("w", n + 1);
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            device.lruLock().lock();
            try {
                held.countDown();
                await(release);
            } finally {
                device.lruLock().unlock();
            }
        }, "lru-holder");
        holder.start();
        await(held);

        a.madvise(Madv.DONTNEED);
        assertThat(device.shrinker().count()).as("the count's try-lock fails: the move stays buffered").isZero();
        assertThat(device.moves().pending()).isTrue();

        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try {
                for (ShmemObject x : w) {
                    x.madvise(Madv.DONTNEED); // some move finds its stripe full, try-locks, fails, waits
                }
            } catch (Throwable t) {
                failed.set(t);
            }
        }, "full-stripe-writer");
        writer.start();
        ThreadStates.awaitParkedIn(writer, LruMoves.class, 10, TimeUnit.SECONDS);

        release.countDown();
        holder.join();
        writer.join();
        assertThat(failed.get()).isNull();

        assertThat(device.shrinker().count()).isEqualTo(n + 2);
        for (ShmemObject x : w) {
            assertThat(device.placementOf(x)).isEqualTo(Placement.PURGEABLE);
        }
        assertThat(device.placementOf(a)).isEqualTo(Placement.PURGEABLE);
        assertThat(raw(Placement.PURGEABLE).get(0)).as("a moved first").isEqualTo("a0");
    }

    @Test
    void freeTakesTheObjectOffItsListEvenWithAMoveBuffered() {
        ShmemObject[] o = evictable("o", 2);
        o[0].madvise(Madv.DONTNEED); // buffered: evictable -> purgeable
        assertThat(device.moves().pending()).isTrue();
        o[0].free();
        assertThat(o[0].lru()).as("off every list when free returns").isNull();
        assertThat(raw(Placement.EVICTABLE)).containsExactly("o1");

        device.drainMoves(); // the stale buffer entry must not bring it back
        assertThat(o[0].lru()).isNull();
        assertThat(raw(Placement.PURGEABLE)).isEmpty();
        assertThat(device.objects()).doesNotContain(o[0]);
    }

    @Test
    void freeRacingADrainThatHoldsTheLock() throws Exception {
        ShmemObject[] o = evictable("o", 2);
        o[0].madvise(Madv.DONTNEED); // buffered
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch freeing = new CountDownLatch(1);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread drainer = new Thread(() -> {
            device.lruLock().lock();
            try {
                held.countDown();
                await(freeing);
                device.lru(Placement.PURGEABLE); // a drain under the lock while free waits for it
            } catch (Throwable t) {
                failed.set(t);
            } finally {
                device.lruLock().unlock();
            }
        }, "drainer");
        drainer.start();
        await(held);
        Thread freer = new Thread(() -> o[0].free(), "freer");
        freer.start();
        ThreadStates.awaitParkedIn(freer, LruMoves.class, 10, TimeUnit.SECONDS);
        freeing.countDown();
        drainer.join();
        freer.join();
        assertThat(failed.get()).isNull();

        device.drainMoves();
        assertThat(o[0].lru()).isNull();
        assertThat(raw(Placement.PURGEABLE)).isEmpty();
        assertThat(raw(Placement.EVICTABLE)).containsExactly("o1");
    }

    @Test
    void movesOrderedByALatchAcrossThreadsKeepTheirOrder() throws Exception {
        // Each round uses two new threads (so, stripes chosen afresh): over the rounds the later move often sits on
        // a stripe the drain reads first, which only the stamps put back in order.
        for (int round = 0; round < 24; round++) {
            ShmemObject[] o = evictable("r" + round + "-", 2);
            CountDownLatch firstDone = new CountDownLatch(1);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread first = new Thread(() -> {
                try {
                    o[0].madvise(Madv.DONTNEED);
                } catch (Throwable t) {
                    failed.set(t);
                } finally {
                    firstDone.countDown();
                }
            });
            Thread second = new Thread(() -> {
                try {
                    await(firstDone);
                    o[1].madvise(Madv.DONTNEED);
                } catch (Throwable t) {
                    failed.set(t);
                }
            });
            second.start();
            first.start();
            first.join();
            second.join();
            assertThat(failed.get()).isNull();
            assertThat(raw(Placement.PURGEABLE)).as("round %d, before the drain", round).isEmpty();
            device.drainMoves();
            assertThat(raw(Placement.PURGEABLE)).as("round %d", round).containsExactly(o[0].name(), o[1].name());
            for (ShmemObject x : o) {
                x.free();
            }
        }
    }

    @Test
    void theBackgroundReclaimerAppliesBufferedMovesOnEachWakeUp() {
        ShmemObject[] o = evictable("o", 1);
        try (BackgroundReclaimer r = new BackgroundReclaimer(device.pool(), device.shrinkers(), 0, 0).start()) {
            o[0].madvise(Madv.DONTNEED);
            r.wake(); // no pressure (no page is short of the watermarks): it only applies deferred work
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (device.moves().pending()) {
                assertThat(System.nanoTime() - deadline).as("drained in time").isNegative();
                Thread.yield();
            }
            assertThat(r.wakeups()).isZero();
        }
        assertThat(raw(Placement.PURGEABLE)).containsExactly("o0");
    }

    @Test
    void theCheckerVerifiesTheRecordedMove() {
        ShmemObject[] o = evictable("o", 1);
        o[0].madvise(Madv.DONTNEED);
        assertThat(o[0].inspect().movedTo()).isEqualTo(device.reclaimStages().stageFor(Placement.PURGEABLE));
        assertThat(o[0].inspect().placement()).isEqualTo(Placement.PURGEABLE);
        assertThat(o[0].lruWeight()).isEqualTo(1);
    }

    private static void await(CountDownLatch l) {
        try {
            if (!l.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("latch not released in time");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
