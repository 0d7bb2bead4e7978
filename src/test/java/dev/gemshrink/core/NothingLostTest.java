package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PageBacking;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.ThreadStates;
import dev.gemshrink.testing.FaultySwapStore;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression tests for the core's share of "nothing lost": a CPU mapping closed while another thread copies through
 * it, reclaim that bypasses the object's evictor, DONTNEED contents stranded in swap, swap stores and evictors that
 * throw any {@link Throwable}, CPU access to a sparse object, and heap growth that cost the whole object per fault.
 * Races are made deterministic with a gated page backing, not with sleeps.
 */
class NothingLostTest {
    private static final int PAGE = PagePool.PAGE_SIZE;

    private GemDevice device;

    @AfterEach
    void tearDown() {
        if (device != null) {
            device.close();
        }
    }

    private GemDevice device(PagePool pool, SwapStore swap) {
        device = GemDevice.builder().pool(pool).swap(swap).leakDetection(LeakDetection.SIMPLE).build();
        return device;
    }

    private ShmemObject withSgt(String name, int pages, byte fill) {
        ShmemObject o = device.createObject(name, (long) pages * PAGE);
        o.getPagesSgt();
        byte[] data = new byte[pages * PAGE];
        Arrays.fill(data, fill);
        o.write(0, data);
        return o;
    }

    private static byte[] contents(ShmemObject o) {
        byte[] b = new byte[(int) o.size()];
        o.read(0, b);
        return b;
    }

    // ------------------------------------------------------------------ defect 1: vunmap racing a copy

    /** A heap backing whose frame lookups from one thread block at a chosen call until released. */
    private static final class GatedBacking implements PageBacking {
        private final PageBacking inner;
        volatile Thread gated;
        volatile int blockAtCall = -1;
        private int calls; // touched by the gated thread only
        final CountDownLatch reached = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        GatedBacking(int frames) {
            this.inner = PageBacking.heap(frames);
        }

        @Override
        public int frames() {
            return inner.frames();
        }

        @Override
        public ByteBuffer frame(int pfn) {
            if (Thread.currentThread() == gated && calls++ == blockAtCall) {
                reached.countDown();
                try {
                    assertThat(release.await(10, TimeUnit.SECONDS)).isTrue();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return inner.frame(pfn);
        }
    }

    @Test
    void closingAMappingWaitsForTheCopyInFlightSoItNeverLandsInAnotherObject() throws Exception {
        GatedBacking backing = new GatedBacking(8);
        device(new PagePool(backing), SwapStore.none());
        ShmemObject victim = device.createObject("victim", 8L * PAGE);
        victim.getPagesSgt();
        VMap map = victim.vmap();
        byte[] junk = new byte[8 * PAGE];
        Arrays.fill(junk, (byte) 0x5a);
        AtomicReference<Throwable> writerFailed = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try {
                map.write(0, junk, 0, junk.length);
            } catch (Throwable t) {
                writerFailed.set(t);
            }
        }, "writer");
        backing.gated = writer;
        backing.blockAtCall = 1; // after one page copied, before the second
        writer.start();
        assertThat(backing.reached.await(10, TimeUnit.SECONDS)).isTrue();

        AtomicReference<ShmemObject> fresh = new AtomicReference<>();
        AtomicReference<Throwable> closerFailed = new AtomicReference<>();
        Thread closer = new Thread(() -> {
            try {
                map.close();
                victim.madvise(Madv.DONTNEED);
                victim.purge();
                ShmemObject f = device.createObject("fresh", 8L * PAGE);
                f.getPagesSgt(); // takes the frames the victim gave back
                fresh.set(f);
            } catch (Throwable t) {
                closerFailed.set(t);
            }
        }, "closer");
        closer.start();
        // Either the closer finished (the bug) or it waits in close for the copy (the fix): then let the copy go.
        ThreadStates.awaitEndedOrParkedIn(closer, VMap.class, 10, TimeUnit.SECONDS);
        backing.release.countDown();
        writer.join(10_000);
        closer.join(10_000);
        assertThat(writerFailed.get()).isNull();
        assertThat(closerFailed.get()).isNull();
        byte[] seen = contents(fresh.get());
        assertThat(seen).as("a fresh object reads zeros; nobody wrote it").containsOnly((byte) 0);
        Invariants.assertClean(device);
    }

    @Test
    void anAccessThroughAClosedMappingFailsBeforeTouchingAFrame() {
        device(PagePool.ofPages(4), SwapStore.none());
        ShmemObject o = device.createObject("o", PAGE);
        VMap m = o.vmap();
        m.close();
        assertThatThrownBy(() -> m.put(0, (byte) 1)).isInstanceOf(GemException.class)
                .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EINVAL);
        assertThatThrownBy(() -> m.fill(0, 1, (byte) 1)).isInstanceOf(GemException.class);
        Invariants.assertClean(device);
    }

    // ------------------------------------------------------------------ defect 2: reclaim only through the evictor

    /** An evictor that refuses everything (a driver whose object is busy on the GPU). */
    static final Evictor ALWAYS_BUSY = Evictor.never();

    @Test
    void evictAndPurgeCalledDirectlyGoThroughTheObjectsEvictor() {
        device(PagePool.ofPages(16), SwapStore.inMemory(16));
        ShmemObject o = device.createObject("busy", 2L * PAGE, ALWAYS_BUSY);
        o.getPagesSgt();
        assertThat(o.isEvictable()).isTrue();
        assertThatThrownBy(o::evict).isInstanceOf(GemException.class)
                .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EBUSY);
        assertThat(o.isResident()).isTrue();
        o.madvise(Madv.DONTNEED);
        assertThatThrownBy(o::purge).isInstanceOf(GemException.class)
                .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EBUSY);
        assertThat(o.madv()).isEqualTo(Madv.DONTNEED);
        Invariants.assertClean(device);
    }

    @Test
    void anEvictorThatSaysDoneWithoutReclaimingFreesNothingAndAPermitExpires() {
        device(PagePool.ofPages(16), SwapStore.inMemory(16));
        AtomicReference<ReclaimPermit> kept = new AtomicReference<>();
        Evictor liar = new Evictor() {
            @Override
            public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
                kept.set(permit);
                return Outcome.DONE;
            }

            @Override
            public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
                kept.set(permit);
                return Outcome.DONE;
            }
        };
        ShmemObject o = device.createObject("liar", 2L * PAGE, liar);
        o.getPagesSgt();
        assertThatThrownBy(o::evict).isInstanceOf(GemException.class)
                .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EBUSY);
        assertThat(device.shrinker().scan(2)).as("nothing freed").isZero();
        o.resv().lock();
        try {
            assertThatThrownBy(() -> kept.get().evict()).isInstanceOf(GemException.class)
                    .hasMessageContaining("expired");
        } finally {
            o.resv().unlock();
        }
        assertThat(o.isResident()).isTrue();
        Invariants.assertClean(device);
    }

    // ------------------------------------------------------------------ defect 6: DONTNEED contents in swap

    @Test
    void dontneedContentsInSwapArePurgedToMakeRoomWhenRamIsShort() {
        device(PagePool.ofPages(4), SwapStore.inMemory(2));
        ShmemObject cached = withSgt("cached", 2, (byte) 1);
        cached.evict(); // swap is full now
        cached.madvise(Madv.DONTNEED); // a userspace BO cache parks it
        assertThat(device.placementOf(cached)).isEqualTo(Placement.EVICTED_PURGEABLE);
        ShmemObject b = withSgt("b", 2, (byte) 2);
        ShmemObject c = withSgt("c", 2, (byte) 3);
        Invariants.assertClean(device);
        assertThat(device.shrinker().count()).as("b or c can be evicted once the cached copy is purged")
                .isEqualTo(2);

        ShmemObject d = device.createObject("d", 2L * PAGE);
        d.getPages().close(); // direct reclaim: purge the swapped DONTNEED copy, then evict b (LRU head)
        Invariants.assertClean(device);
        assertThat(cached.madv()).isEqualTo(Madv.PURGED);
        assertThat(b.isEvicted()).isTrue();
        assertThat(c.isResident()).isTrue();
        assertThat(cached.madvise(Madv.WILLNEED)).isFalse();
        c.madvise(Madv.DONTNEED);
        c.purge();
        assertThat(contents(b)).containsOnly((byte) 2);
        Invariants.assertClean(device);
    }

    // ------------------------------------------------------------------ defect 7 (core part): stores that throw

    @Test
    void aSwapStoreThrowingAnyThrowableOnStoreLeavesTheObjectResidentAndIntact() {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(8));
        device(PagePool.ofPages(8), swap);
        ShmemObject o = withSgt("o", 2, (byte) 7);
        swap.failStoresWith(() -> new NegativeArraySizeException("-2147483648"));
        assertThatThrownBy(o::evict).isInstanceOf(GemException.class)
                .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.ENOMEM);
        Invariants.assertClean(device);
        swap.failStoresWith(() -> new OutOfMemoryError("injected"));
        assertThatThrownBy(o::evict).isInstanceOf(OutOfMemoryError.class);
        Invariants.assertClean(device);
        assertThat(o.isResident()).isTrue();
        swap.heal();
        assertThat(contents(o)).containsOnly((byte) 7);
    }

    @Test
    void aSwapStoreThrowingAnErrorOnLoadGivesTheFramesBack() {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(8));
        device(PagePool.ofPages(8), swap);
        ShmemObject o = withSgt("o", 2, (byte) 9);
        o.evict();
        swap.failLoadsWith(() -> new StackOverflowError("injected"));
        assertThatThrownBy(o::pin).isInstanceOf(StackOverflowError.class);
        Invariants.assertClean(device);
        assertThat(device.pool().usedPages()).isZero();
        assertThat(o.isEvicted()).isTrue();
        swap.heal();
        assertThat(contents(o)).containsOnly((byte) 9);
        Invariants.assertClean(device);
    }

    // ------------------------------------------------------------------ defect 8: an evictor that throws an Error

    @Test
    void anEvictorThrowingAnErrorLeavesTheScannedObjectsOnTheirList() {
        device(PagePool.ofPages(16), SwapStore.none());
        boolean[] broken = {true};
        Evictor flaky = new Evictor() {
            @Override
            public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
                if (broken[0]) {
                    throw new AssertionError("driver bug");
                }
                return Evictor.shmem().purge(obj, permit);
            }

            @Override
            public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
                return Outcome.BUSY;
            }
        };
        ShmemObject a = device.createObject("a", 2L * PAGE, flaky);
        a.getPagesSgt();
        a.madvise(Madv.DONTNEED);
        ShmemObject b = device.createObject("b", 2L * PAGE, flaky);
        b.getPagesSgt();
        b.madvise(Madv.DONTNEED);
        assertThatThrownBy(() -> device.shrinker().scan(4)).isInstanceOf(AssertionError.class);
        Invariants.assertClean(device);
        assertThat(device.placementOf(a)).isEqualTo(Placement.PURGEABLE);
        assertThat(device.placementOf(b)).isEqualTo(Placement.PURGEABLE);
        assertThat(device.shrinker().count()).isEqualTo(4);
        broken[0] = false;
        assertThat(device.shrinker().scan(4)).isEqualTo(4);
        Invariants.assertClean(device);
    }

    // ------------------------------------------------------------------ defect 12: sparse objects and the CPU

    @Test
    void cpuAccessToASparseObjectWithHolesIsEinvalNotAnIndexError() {
        device(PagePool.ofPages(16), SwapStore.none());
        ShmemObject heap = device.createObject("heap", 8L * PAGE);
        PagesRef chunks = heap.getPagesSparse(OwnerKind.PAGES_HEAP_CHUNKS);
        heap.populate(0, 2);
        for (Runnable r : new Runnable[] {heap::pin, heap::vmap, heap::getPagesSgt,
                () -> heap.read(6 * PAGE, new byte[8]), () -> heap.write(0, new byte[8])}) {
            assertThatThrownBy(r::run).isInstanceOf(GemException.class)
                    .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EINVAL);
            Invariants.assertClean(device);
        }
        heap.populate(2, 6); // wholly populated now: a pin is fine
        try (Pin p = heap.pin()) {
            assertThat(p.isLive()).isTrue();
        }
        chunks.close();
        heap.free();
        Invariants.assertEmpty(device);
    }

    /** HotSpot's per-thread allocation counter (com.sun.management, reached reflectively: no module edge). */
    private static long allocatedByThisThread() throws ReflectiveOperationException {
        Object mx = ManagementFactory.getThreadMXBean();
        return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes")
                .invoke(mx);
    }

    @Test
    void populatingAChunkCostsTheChunkNotTheWholeObject() throws ReflectiveOperationException {
        device(PagePool.ofPages(1024), SwapStore.none());
        device.pool().free(device.pool().allocate(1024, "warm-up")); // the backing creates frames lazily
        int pages = 1 << 20; // a 4 GiB sparse object: its page array alone is 4 MiB
        ShmemObject heap = device.createObject("huge-heap", (long) pages * PAGE);
        PagesRef chunks = heap.getPagesSparse(OwnerKind.PAGES_HEAP_CHUNKS);
        heap.populate(0, 512);
        long before = allocatedByThisThread();
        heap.populate(512, 512);
        long allocated = allocatedByThisThread() - before;
        assertThat(allocated).as("bytes allocated by one 2 MiB fault on a 4 GiB object")
                .isLessThan(256L << 10);
        chunks.close();
        heap.free();
        Invariants.assertEmpty(device);
    }
}
