package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import dev.gemshrink.reclaim.ShrinkerStats;
import dev.gemshrink.testing.CapturedLog;
import dev.gemshrink.testing.Invariants;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The device shrinker (docs/kernel-model.md section 3) through its registration's debugfs-like {@code count()}/{@code
 * scan(n)} and through direct reclaim from page allocations: purge before evict, LRU order, whole objects, try-lock
 * only (locked objects, including ones the reclaiming thread holds, are skipped and rotated), BUSY evictors, swap
 * limits.
 */
class GemShrinkerTest {
    private static final int PAGE = PagePool.PAGE_SIZE;

    private GemDevice device;

    @AfterEach
    void tearDown() {
        if (device != null) {
            device.close();
        }
    }

    private GemDevice device(int ramPages, long swapPages) {
        device = GemDevice.builder().ramPages(ramPages).swap(SwapStore.inMemory(swapPages))
                .leakDetection(LeakDetection.SIMPLE).build();
        step();
        return device;
    }

    private void step() {
        Invariants.assertClean(device);
    }

    private ShrinkerRegistry.Registration shrinker() {
        return device.shrinker();
    }

    private ShrinkerStats stats() {
        return device.shrinker().stats();
    }

    /** A WILLNEED object with its stored sg table (evictable), filled with a recognisable pattern. */
    private ShmemObject willneed(String name, int pages) {
        return willneed(name, pages, Evictor.shmem());
    }

    private ShmemObject willneed(String name, int pages, Evictor evictor) {
        ShmemObject o = device.createObject(name, (long) pages * PAGE, evictor);
        o.getPagesSgt();
        o.write(0, pattern(o));
        step();
        return o;
    }

    /** A DONTNEED object with its stored sg table (purgeable). */
    private ShmemObject dontneed(String name, int pages) {
        return dontneed(name, pages, Evictor.shmem());
    }

    private ShmemObject dontneed(String name, int pages, Evictor evictor) {
        ShmemObject o = willneed(name, pages, evictor);
        o.madvise(Madv.DONTNEED);
        step();
        return o;
    }

    private static byte[] pattern(ShmemObject o) {
        byte[] b = new byte[64];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (o.name().hashCode() + i);
        }
        return b;
    }

    private void assertIntact(ShmemObject o) {
        byte[] back = new byte[64];
        o.read(0, back);
        step();
        assertThat(back).as("contents of %s", o.name()).containsExactly(pattern(o));
    }

    private List<ShmemObject> lru(Placement p) {
        List<ShmemObject> out = new ArrayList<>();
        device.lruLock().lock();
        try {
            GemLru<ShmemObject> l = device.lru(p);
            for (ShmemObject o = l.head(); o != null; o = l.next(o)) {
                out.add(o);
            }
        } finally {
            device.lruLock().unlock();
        }
        return out;
    }

    private static void assertErrno(Errno errno, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(GemException.class)
                .satisfies(e -> assertThat(((GemException) e).errno()).as("errno of %s", e).isEqualTo(errno));
    }

    /** Holds an object's reservation lock on another thread until closed. */
    private static final class LockHolder implements AutoCloseable {
        private final CountDownLatch locked = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private final Thread thread;

        LockHolder(ShmemObject obj) throws InterruptedException {
            thread = new Thread(() -> {
                obj.resv().lock();
                try {
                    locked.countDown();
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    obj.resv().unlock();
                }
            }, "holder-" + obj.name());
            thread.setDaemon(true);
            thread.start();
            assertThat(locked.await(5, TimeUnit.SECONDS)).as("lock taken by the holder").isTrue();
        }

        @Override
        public void close() {
            release.countDown();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            assertThat(thread.isAlive()).as("holder thread ended").isFalse();
        }
    }

    /** An evictor that always answers BUSY and records that it was called with the lock held. */
    private static final class BusyEvictor implements Evictor {
        final AtomicInteger purges = new AtomicInteger();
        final AtomicInteger evicts = new AtomicInteger();
        volatile boolean lockHeld = true;

        @Override
        public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
            lockHeld &= obj.resv().isHeldByCurrentThread();
            purges.incrementAndGet();
            return Outcome.BUSY;
        }

        @Override
        public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
            lockHeld &= obj.resv().isHeldByCurrentThread();
            evicts.incrementAndGet();
            return Outcome.BUSY;
        }
    }

    // ------------------------------------------------------------------ count

    @Test
    void countIsPurgeablePagesPlusEvictablePagesUpToSwapFree() {
        device(64, 6);
        assertThat(shrinker().count()).isZero();
        dontneed("p", 4);
        assertThat(shrinker().count()).isEqualTo(4);
        willneed("e", 8);
        assertThat(shrinker().count()).as("4 purgeable + min(8 evictable, 6 swap free)").isEqualTo(10);
        ShmemObject small = willneed("small", 2);
        assertThat(shrinker().count()).as("4 + min(10, 6)").isEqualTo(10);
        small.evict(); // 4 of 6 swap pages left
        step();
        assertThat(shrinker().count()).as("4 + min(8, 4)").isEqualTo(8);

        // Objects that are not reclaimable never count.
        ShmemObject pinned = willneed("pinned", 3);
        try (Pin p = pinned.pin(); PagesRef r = device.createObject("handle", 3 * PAGE).getPages()) {
            step();
            assertThat(p.isLive() && r.isLive()).isTrue();
            assertThat(shrinker().count()).isEqualTo(8);
        }
        step();
    }

    @Test
    void countIsEmptyWithoutSwapAndNothingPurgeable() {
        device(64, 0);
        ShmemObject e = willneed("e", 8);
        assertThat(shrinker().count()).isZero();
        assertThat(shrinker().shrinker().count(new ShrinkControl(0, true, true))).isZero();
        assertThat(shrinker().scan(100)).isZero();
        step();
        assertThat(stats().stops()).isEqualTo(1);
        assertThat(device.placementOf(e)).isEqualTo(Placement.EVICTABLE);
        assertIntact(e);
    }

    // ------------------------------------------------------------------ scan order

    @Test
    void aPurgePassHappensBeforeAnyEviction() {
        device(64, 64);
        ShmemObject e = willneed("older-willneed", 4); // least recently used, yet not taken first
        ShmemObject p = dontneed("newer-dontneed", 4);
        assertThat(shrinker().count()).isEqualTo(8);

        assertThat(shrinker().scan(4)).isEqualTo(4);
        step();
        assertThat(p.madv()).isEqualTo(Madv.PURGED);
        assertThat(device.placementOf(p)).isEqualTo(Placement.NONE);
        assertThat(device.placementOf(e)).isEqualTo(Placement.EVICTABLE);
        assertThat(stats().purged()).isEqualTo(4);
        assertThat(stats().evicted()).isZero();

        assertThat(shrinker().scan(4)).isEqualTo(4);
        step();
        assertThat(device.placementOf(e)).isEqualTo(Placement.EVICTED);
        assertThat(stats().evicted()).isEqualTo(4);
        assertThat(device.pool().usedPages()).isZero();
        assertIntact(e);
    }

    @Test
    void oneScanPurgesThenEvictsWhenStillShort() {
        device(64, 64);
        ShmemObject e = willneed("e", 4);
        ShmemObject p = dontneed("p", 2);
        assertThat(shrinker().scan(6)).isEqualTo(6);
        step();
        assertThat(p.madv()).isEqualTo(Madv.PURGED);
        assertThat(device.placementOf(e)).isEqualTo(Placement.EVICTED);
        ShrinkerStats s = stats();
        assertThat(s.scans()).isEqualTo(1);
        assertThat(s.purged()).isEqualTo(2);
        assertThat(s.evicted()).isEqualTo(4);
        assertThat(s.freed()).isEqualTo(6);
        assertThat(s.scanned()).isEqualTo(6);
        assertThat(s.skippedLocked()).isZero();
        assertThat(s.stops()).isZero();
        assertIntact(e);
    }

    @Test
    void leastRecentlyUsedObjectsGoFirst() {
        device(64, 64);
        ShmemObject a = dontneed("a", 2);
        ShmemObject b = dontneed("b", 2);
        ShmemObject c = dontneed("c", 2);
        a.getPagesSgt(); // a use: a becomes the most recently used
        step();
        assertThat(lru(Placement.PURGEABLE)).containsExactly(b, c, a);

        assertThat(shrinker().scan(2)).isEqualTo(2);
        step();
        assertThat(b.madv()).isEqualTo(Madv.PURGED);
        assertThat(lru(Placement.PURGEABLE)).containsExactly(c, a);

        assertThat(shrinker().scan(2)).isEqualTo(2);
        step();
        assertThat(c.madv()).isEqualTo(Madv.PURGED);
        assertThat(lru(Placement.PURGEABLE)).containsExactly(a);

        // The same order holds for eviction.
        ShmemObject x = willneed("x", 1);
        ShmemObject y = willneed("y", 1);
        ShmemObject z = willneed("z", 1);
        y.getPagesSgt();
        step();
        assertThat(lru(Placement.EVICTABLE)).containsExactly(x, z, y);
        assertThat(shrinker().scan(3)).as("a's 2 pages, then x").isEqualTo(3);
        step();
        assertThat(a.madv()).isEqualTo(Madv.PURGED);
        assertThat(lru(Placement.EVICTED)).containsExactly(x);
        assertThat(lru(Placement.EVICTABLE)).containsExactly(z, y);
    }

    @Test
    void scanStopsOnceTheTargetIsMetInWholeObjects() {
        device(64, 0);
        ShmemObject a = dontneed("a", 4);
        ShmemObject b = dontneed("b", 4);
        ShmemObject c = dontneed("c", 4);
        assertThat(shrinker().scan(5)).as("two whole objects for 5 pages").isEqualTo(8);
        step();
        assertThat(a.madv()).isEqualTo(Madv.PURGED);
        assertThat(b.madv()).isEqualTo(Madv.PURGED);
        assertThat(c.madv()).isEqualTo(Madv.DONTNEED);
        assertThat(device.placementOf(c)).isEqualTo(Placement.PURGEABLE);
        assertThat(stats().scanned()).as("c was not looked at").isEqualTo(8);

        assertThat(shrinker().scan(1)).as("one page takes the whole object").isEqualTo(4);
        step();
        assertThat(c.madv()).isEqualTo(Madv.PURGED);
        assertThat(device.pool().usedPages()).isZero();
    }

    // ------------------------------------------------------------------ locks, BUSY, STOP

    @Test
    void aLockedObjectIsSkippedCountedAndRotatedToTheTail() throws Exception {
        device(64, 0);
        ShmemObject a = dontneed("a", 2);
        ShmemObject b = dontneed("b", 2);
        ShmemObject c = dontneed("c", 2);
        try (LockHolder h = new LockHolder(a)) {
            assertThat(h).isNotNull();
            assertThat(shrinker().scan(2)).isEqualTo(2);
            assertThat(b.madv()).isEqualTo(Madv.PURGED);
            assertThat(a.madv()).isEqualTo(Madv.DONTNEED);
            assertThat(a.isResident()).isTrue();
            assertThat(lru(Placement.PURGEABLE)).as("a rotated behind c").containsExactly(c, a);
            assertThat(stats().skippedLocked()).isEqualTo(2);
            assertThat(stats().scanned()).isEqualTo(4);

            assertThat(shrinker().scan(100)).isEqualTo(2);
            assertThat(c.madv()).isEqualTo(Madv.PURGED);
            assertThat(lru(Placement.PURGEABLE)).containsExactly(a);
            assertThat(stats().skippedLocked()).isEqualTo(4);

            // Only a locked object is left: no progress is possible.
            assertThat(shrinker().scan(100)).isZero();
            assertThat(stats().stops()).isEqualTo(1);
            assertThat(stats().skippedLocked()).isEqualTo(6);
            assertThat(lru(Placement.PURGEABLE)).containsExactly(a);
        }
        step();
        assertIntact(a);
        assertThat(shrinker().scan(100)).isEqualTo(2);
        step();
        assertThat(a.madv()).isEqualTo(Madv.PURGED);
        assertThat(stats().freed()).isEqualTo(6);
    }

    @Test
    void anObjectFreedWhileParkedOnTheScannersPrivateListIsUnlinkedByFree() throws Exception {
        // Reference section 3's known race: a is parked on the scanner's "still in LRU" list (its lock is held
        // elsewhere, so it was skipped) and is freed before the scanner splices that list back.
        device(64, 0);
        ShmemObject a = dontneed("a", 2);
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch freeNow = new CountDownLatch(1);
        CountDownLatch freed = new CountDownLatch(1);
        Evictor freesAFirst = new Evictor() {
            @Override
            public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
                freeNow.countDown(); // a is parked now: have its holder free it
                try {
                    assertThat(freed.await(5, TimeUnit.SECONDS)).isTrue();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return Evictor.shmem().purge(obj, permit);
            }

            @Override
            public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
                return Outcome.BUSY;
            }
        };
        ShmemObject b = dontneed("b", 2, freesAFirst);
        AtomicInteger leaks = new AtomicInteger(-1);
        Thread holder = new Thread(() -> {
            a.resv().lock();
            try {
                locked.countDown();
                if (freeNow.await(5, TimeUnit.SECONDS)) {
                    leaks.set(a.free().isEmpty() ? 0 : 1);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                a.resv().unlock();
                freed.countDown();
            }
        }, "frees-a");
        holder.setDaemon(true);
        holder.start();
        assertThat(locked.await(5, TimeUnit.SECONDS)).isTrue();

        assertThat(shrinker().scan(100)).isEqualTo(2);
        holder.join(5000);
        assertThat(holder.isAlive()).isFalse();
        step();
        assertThat(leaks.get()).as("a freed cleanly").isZero();
        assertThat(a.isFreed()).isTrue();
        assertThat(device.placementOf(a)).isEqualTo(Placement.NONE);
        assertThat(b.madv()).isEqualTo(Madv.PURGED);
        assertThat(lru(Placement.PURGEABLE)).as("the freed object was not spliced back").isEmpty();
        assertThat(device.lru(Placement.PURGEABLE).pages()).isZero();
        assertThat(stats().skippedLocked()).isEqualTo(2);
        assertThat(device.pool().usedPages()).isZero();
    }

    @Test
    void scanStopsWhenNoProgressIsPossible() {
        device(64, 64);
        assertThat(shrinker().scan(10)).as("nothing at all").isZero();
        step();
        assertThat(stats().stops()).isEqualTo(1);

        ShmemObject pinned = dontneed("pinned", 2);
        ShmemObject exported = dontneed("exported", 2);
        ShmemObject handle = device.createObject("handle", 2 * PAGE);
        try (Pin p = pinned.pin(); Export e = exported.export(); PagesRef r = handle.getPages()) {
            step();
            assertThat(p.isLive() && e.isLive() && r.isLive()).isTrue();
            assertThat(shrinker().count()).isZero();
            assertThat(shrinker().scan(10)).isZero();
            step();
            assertThat(stats().stops()).isEqualTo(2);
            assertThat(pinned.madv()).isEqualTo(Madv.DONTNEED);
            assertThat(exported.madv()).isEqualTo(Madv.DONTNEED);
            assertThat(r.isLive()).isTrue();
        }
        step();
        ShrinkerStats s = stats();
        assertThat(s.freed()).isZero();
        assertThat(s.scans()).isEqualTo(2);
        assertThat(device.pool().usedPages()).isEqualTo(4);
    }

    @Test
    void aBusyEvictorLeavesTheObjectIntactAndRotatesIt() {
        device(64, 64);
        BusyEvictor busy = new BusyEvictor();
        ShmemObject x = dontneed("x", 4, busy);
        ShmemObject y = dontneed("y", 4);
        ShmemObject z = dontneed("z", 4);

        assertThat(shrinker().scan(4)).isEqualTo(4);
        step();
        assertThat(busy.purges.get()).isEqualTo(1);
        assertThat(busy.lockHeld).as("the evictor runs with the object's lock held").isTrue();
        assertThat(y.madv()).isEqualTo(Madv.PURGED);
        assertThat(x.madv()).isEqualTo(Madv.DONTNEED);
        assertThat(lru(Placement.PURGEABLE)).as("x rotated behind z").containsExactly(z, x);
        assertThat(stats().skippedLocked()).isZero();

        assertThat(shrinker().scan(100)).isEqualTo(4);
        step();
        assertThat(z.madv()).isEqualTo(Madv.PURGED);
        assertThat(lru(Placement.PURGEABLE)).containsExactly(x);

        assertThat(shrinker().scan(100)).as("only the busy object is left").isZero();
        step();
        assertThat(stats().stops()).isEqualTo(1);
        assertThat(busy.purges.get()).isEqualTo(3);
        assertThat(x.madv()).isEqualTo(Madv.DONTNEED);
        assertThat(device.placementOf(x)).isEqualTo(Placement.PURGEABLE);
        x.madvise(Madv.WILLNEED);
        step();
        assertIntact(x);
    }

    @Test
    void aBusyEvictorIsNotEvictedEither() {
        device(64, 64);
        BusyEvictor busy = new BusyEvictor();
        ShmemObject x = willneed("x", 4, busy);
        ShmemObject y = willneed("y", 4);
        assertThat(shrinker().scan(4)).isEqualTo(4);
        step();
        assertThat(busy.evicts.get()).isEqualTo(1);
        assertThat(busy.purges.get()).isZero();
        assertThat(device.placementOf(y)).isEqualTo(Placement.EVICTED);
        assertThat(lru(Placement.EVICTABLE)).containsExactly(x);
        assertThat(shrinker().scan(4)).isZero();
        step();
        assertThat(device.placementOf(x)).isEqualTo(Placement.EVICTABLE);
        assertThat(device.swap().usedPages()).isEqualTo(4);
        assertIntact(x);
    }

    @Test
    void anEvictorThatThrowsIsTreatedAsBusy() {
        device(64, 0);
        Evictor broken = new Evictor() {
            @Override
            public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
                throw new IllegalStateException("driver bug");
            }

            @Override
            public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
                throw new IllegalStateException("driver bug");
            }
        };
        ShmemObject x = dontneed("x", 2, broken);
        try (CapturedLog log = CapturedLog.of(GemShrinker.class)) {
            assertThat(shrinker().scan(2)).isZero();
            assertThat(log.events()).singleElement().satisfies(e -> {
                assertThat(e.getFormattedMessage()).isEqualTo("evictor of x failed; skipping it");
                assertThat(e.getThrowableProxy().getMessage()).isEqualTo("driver bug");
            });
        }
        step();
        assertThat(x.madv()).isEqualTo(Madv.DONTNEED);
        assertThat(device.placementOf(x)).isEqualTo(Placement.PURGEABLE);
        assertThat(x.resv().isLocked()).as("the lock is released after a throwing evictor").isFalse();
    }

    // ------------------------------------------------------------------ swap limits

    @Test
    void noEvictionWhenSwapIsFull() {
        device(64, 8);
        ShmemObject e1 = willneed("e1", 8);
        ShmemObject e2 = willneed("e2", 8);
        assertThat(shrinker().count()).isEqualTo(8);
        assertThat(shrinker().scan(8)).isEqualTo(8);
        step();
        assertThat(device.placementOf(e1)).isEqualTo(Placement.EVICTED);
        assertThat(device.swap().hasRoom(1)).isFalse();
        assertThat(shrinker().count()).as("swap full: nothing evictable counts").isZero();

        assertThat(shrinker().scan(8)).isZero();
        step();
        assertThat(stats().stops()).isEqualTo(1);
        assertThat(device.placementOf(e2)).isEqualTo(Placement.EVICTABLE);
        assertThat(e2.isResident()).isTrue();
        assertIntact(e2);
    }

    @Test
    void noEvictionWhenSwapHasRoomForLessThanTheWholeObject() {
        device(64, 4);
        ShmemObject a = willneed("a", 8);
        ShmemObject b = willneed("b", 2);
        assertThat(shrinker().scan(8)).as("a does not fit in swap, b does").isEqualTo(2);
        step();
        assertThat(device.placementOf(a)).isEqualTo(Placement.EVICTABLE);
        assertThat(device.placementOf(b)).isEqualTo(Placement.EVICTED);
        assertThat(lru(Placement.EVICTABLE)).containsExactly(a);
        assertThat(shrinker().scan(8)).isZero();
        step();
        assertThat(device.swap().usedPages()).isEqualTo(2);
        assertIntact(a);
    }

    @Test
    void noEvictionWhenSwappingIsNotAllowed() {
        device(64, 64);
        ShmemObject e = willneed("e", 8);
        ShmemObject p = dontneed("p", 4);
        Shrinker s = shrinker().shrinker();
        assertThat(s.count(new ShrinkControl(0, true, false))).as("purgeable pages only").isEqualTo(4);
        assertThat(s.count(new ShrinkControl(0, true, true))).isEqualTo(12);

        assertThat(device.shrinkers().reclaim(100, false)).isEqualTo(4);
        step();
        assertThat(p.madv()).isEqualTo(Madv.PURGED);
        assertThat(device.placementOf(e)).isEqualTo(Placement.EVICTABLE);
        assertThat(stats().evicted()).isZero();

        assertThat(device.shrinkers().reclaim(100, false)).isZero();
        step();
        ShrinkControl sc = new ShrinkControl(100, true, false);
        assertThat(s.scan(sc)).isEqualTo(Shrinker.STOP);
        assertThat(sc.nrEvicted()).isZero();
        step();
        assertThat(device.placementOf(e)).isEqualTo(Placement.EVICTABLE);
        assertThat(device.swap().usedPages()).isZero();

        assertThat(device.shrinkers().reclaim(100, true)).isEqualTo(8);
        step();
        assertThat(device.placementOf(e)).isEqualTo(Placement.EVICTED);
        assertIntact(e);
    }

    // ------------------------------------------------------------------ reclaim inside a held reservation

    @Test
    void directReclaimSkipsAnObjectTheReclaimingThreadHolds() {
        device(24, 0);
        ShmemObject a = dontneed("a", 8); // least recently used: the first candidate
        ShmemObject b = dontneed("b", 8);
        ShmemObject w = willneed("w", 8);
        assertThat(device.pool().freePages()).isZero();

        ShmemObject c = device.createObject("c", 8 * PAGE);
        a.resv().lock();
        try {
            assertThat(a.resv().tryLock()).as("try-lock of a lock this thread holds fails").isFalse();
            c.getPagesSgt(); // the pool must reclaim
            step();
            assertThat(a.madv()).as("a is held by this thread: never purged").isEqualTo(Madv.DONTNEED);
            assertThat(a.isResident()).isTrue();
            assertThat(b.madv()).isEqualTo(Madv.PURGED);
            assertThat(device.placementOf(c)).isEqualTo(Placement.EVICTABLE);
            assertThat(stats().skippedLocked()).isGreaterThanOrEqualTo(8);
        } finally {
            a.resv().unlock();
        }
        step();
        assertThat(device.placementOf(a)).isEqualTo(Placement.PURGEABLE);
        assertIntact(w);
        a.madvise(Madv.WILLNEED);
        step();
        assertIntact(a);
    }

    @Test
    void directReclaimDoesNotEvictAnObjectTheReclaimingThreadHolds() {
        device(16, 64);
        ShmemObject a = willneed("a", 8);
        ShmemObject b = willneed("b", 8);
        ShmemObject c = device.createObject("c", 8 * PAGE);
        a.resv().lock();
        try {
            c.getPagesSgt();
            step();
            assertThat(device.placementOf(a)).isEqualTo(Placement.EVICTABLE);
            assertThat(device.placementOf(b)).isEqualTo(Placement.EVICTED);
            assertThat(stats().evicted()).isEqualTo(8);
        } finally {
            a.resv().unlock();
        }
        step();
        assertIntact(a);
        assertIntact(b); // swapped back in, evicting someone else
    }

    @Test
    void directReclaimFailsWhenTheOnlyCandidateIsHeldByTheReclaimingThread() {
        device(16, 0);
        ShmemObject a = dontneed("a", 8);
        ShmemObject w = willneed("w", 8);
        ShmemObject c = device.createObject("c", 8 * PAGE);
        a.resv().lock();
        try {
            assertErrno(Errno.ENOMEM, c::getPagesSgt);
            step();
            assertThat(a.madv()).isEqualTo(Madv.DONTNEED);
            assertThat(a.isResident()).isTrue();
            assertThat(c.isResident()).isFalse();
            assertThat(c.pagesUseCount()).isZero();
            assertThat(device.placementOf(c)).isEqualTo(Placement.NONE);
        } finally {
            a.resv().unlock();
        }
        step();
        assertThat(device.pool().usedPages()).isEqualTo(16);
        assertIntact(w);
    }

    // ------------------------------------------------------------------ direct reclaim from the pool

    /** Asserts that the objects matching {@code gone} are exactly a prefix of {@code objs} (oldest first). */
    private static void assertOldestGone(List<ShmemObject> objs, java.util.function.Predicate<ShmemObject> gone) {
        int firstKept = 0;
        while (firstKept < objs.size() && gone.test(objs.get(firstKept))) {
            firstKept++;
        }
        for (int i = firstKept; i < objs.size(); i++) {
            assertThat(gone.test(objs.get(i))).as("%s reclaimed although %s, older, was kept", objs.get(i).name(),
                    objs.get(firstKept).name()).isFalse();
        }
    }

    @Test
    void allocationsBeyondTheBudgetSucceedByPurging() {
        device(32, 0);
        List<ShmemObject> objs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            objs.add(dontneed("o" + i, 8)); // 80 pages through a 32-page pool
            assertThat(device.pool().usedPages()).isLessThanOrEqualTo(32);
            assertThat(objs.get(i).isResident()).as("the object just created is resident").isTrue();
        }
        step();
        assertOldestGone(objs, o -> o.madv() == Madv.PURGED);
        long purged = objs.stream().filter(o -> o.madv() == Madv.PURGED).count();
        assertThat(purged).as("at least 48 of 80 pages had to go").isGreaterThanOrEqualTo(6);
        assertThat(stats().purged()).isEqualTo(purged * 8);
        assertThat(stats().evicted()).isZero();
        assertThat(device.pool().usedPages()).isEqualTo((int) (10 - purged) * 8);
        assertThat(lru(Placement.PURGEABLE)).containsExactlyElementsOf(objs.subList((int) purged, 10));
        for (ShmemObject o : objs.subList((int) purged, 10)) {
            o.madvise(Madv.WILLNEED);
            step();
            assertIntact(o);
        }
    }

    @Test
    void allocationsBeyondTheBudgetSucceedByEvicting() {
        device(32, 64);
        List<ShmemObject> objs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            objs.add(willneed("o" + i, 8));
            assertThat(objs.get(i).isResident()).isTrue();
        }
        step();
        assertOldestGone(objs, o -> device.placementOf(o) == Placement.EVICTED);
        long evicted = lru(Placement.EVICTED).size();
        assertThat(evicted).isGreaterThanOrEqualTo(2);
        assertThat(device.swap().usedPages()).isEqualTo(evicted * 8);
        assertThat(stats().evicted()).isEqualTo(evicted * 8);
        assertThat(device.pool().usedPages() + device.swap().usedPages()).isEqualTo(48);
        for (ShmemObject o : objs) {
            assertIntact(o); // a swap-in evicts the least recently used resident objects
        }
        assertThat(device.pool().usedPages() + device.swap().usedPages()).isEqualTo(48);
    }

    @Test
    void directReclaimPrefersPurgingOverEvicting() {
        device(1024, 1024);
        List<ShmemObject> will = new ArrayList<>();
        List<ShmemObject> dont = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            will.add(willneed("w" + i, 64)); // the least recently used half
        }
        for (int i = 0; i < 8; i++) {
            dont.add(dontneed("d" + i, 64));
        }
        assertThat(device.pool().freePages()).isZero();
        ShmemObject n = willneed("n", 64);
        step();
        assertThat(device.swap().usedPages()).as("nothing evicted while purgeable objects remain").isZero();
        assertThat(stats().evicted()).isZero();
        assertThat(dont.get(0).madv()).isEqualTo(Madv.PURGED);
        assertThat(dont.get(7).madv()).as("reclaim stopped near its target").isEqualTo(Madv.DONTNEED);
        assertOldestGone(dont, o -> o.madv() == Madv.PURGED);
        for (ShmemObject w : will) {
            assertThat(device.placementOf(w)).isEqualTo(Placement.EVICTABLE);
        }
        assertThat(device.placementOf(n)).isEqualTo(Placement.EVICTABLE);
    }

    @Test
    void withNothingReclaimableAnAllocationFailsAndChangesNothing() {
        device(32, 0);
        List<ShmemObject> objs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            objs.add(willneed("o" + i, 8));
        }
        List<ShmemObject> before = lru(Placement.EVICTABLE);
        ShmemObject n = device.createObject("n", 8 * PAGE);
        assertErrno(Errno.ENOMEM, n::getPagesSgt);
        step();
        assertErrno(Errno.ENOMEM, n::pin);
        step();
        assertThat(n.isResident()).isFalse();
        assertThat(n.hasSgt()).isFalse();
        assertThat(n.pagesUseCount()).isZero();
        assertThat(n.pinCount()).isZero();
        assertThat(device.placementOf(n)).isEqualTo(Placement.NONE);
        assertThat(lru(Placement.EVICTABLE)).containsExactlyElementsOf(before);
        assertThat(device.pool().usedPages()).isEqualTo(32);
        assertThat(stats().freed()).isZero();
        for (ShmemObject o : objs) {
            assertThat(device.placementOf(o)).isEqualTo(Placement.EVICTABLE);
        }
        assertErrno(Errno.ENOMEM, () -> device.createObject("huge", 33L * PAGE).getPagesSgt());
        step();
        for (ShmemObject o : objs) {
            assertIntact(o);
        }
        assertThat(n.free().isEmpty()).isTrue();
        step();
        assertThat(device.objects()).doesNotContain(n);
    }
}
