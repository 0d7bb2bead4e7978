package dev.gemshrink.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import dev.gemshrink.testing.Invariants;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** {@link PagePool} accounting, zero-filling, all-or-nothing allocation and direct reclaim; {@link MemorySwapStore}. */
class PagePoolTest {

    /**
     * Where the pools' bytes live: heap frames here, direct frames in {@link DirectFramesPagePoolTest}, which runs
     * every test of this class again.
     *
     * @return the kind of backing of every pool the tests create
     */
    PageBacking.Kind frames() {
        return PageBacking.Kind.HEAP;
    }

    private PagePool pool(int pages) {
        return new PagePool(frames().create(pages));
    }

    private static void assertErrno(Errno errno, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(GemException.class)
                .satisfies(e -> assertThat(((GemException) e).errno()).as("errno of %s", e).isEqualTo(errno));
    }

    /** Used + free = total, free frames and handed-out frames are disjoint and together are every frame. */
    private static void assertAccounting(PagePool pool, List<int[]> held) {
        int heldCount = held.stream().mapToInt(a -> a.length).sum();
        assertThat(pool.usedPages()).as("used").isEqualTo(heldCount);
        assertThat(pool.freePages()).as("free").isEqualTo(pool.totalPages() - heldCount);
        int[] free = pool.freeFrames();
        assertThat(free).as("free frames").hasSize(pool.freePages());
        int[] all = IntStream.concat(Arrays.stream(free), held.stream().flatMapToInt(Arrays::stream)).sorted()
                .toArray();
        assertThat(all).as("every frame exactly once").isEqualTo(IntStream.range(0, pool.totalPages()).toArray());
    }

    private static void fill(PagePool pool, int[] pfns, byte value) {
        byte[] page = new byte[PagePool.PAGE_SIZE];
        Arrays.fill(page, value);
        for (int pfn : pfns) {
            pool.frame(pfn).put(0, page);
        }
    }

    private static void assertZero(PagePool pool, int[] pfns) {
        byte[] zeros = new byte[PagePool.PAGE_SIZE];
        byte[] got = new byte[PagePool.PAGE_SIZE];
        for (int pfn : pfns) {
            pool.frame(pfn).get(0, got);
            assertThat(got).as("frame %d", pfn).isEqualTo(zeros);
        }
    }

    @Test
    void accountsUsedAndFreePages() {
        PagePool pool = pool(16);
        List<int[]> held = new ArrayList<>();
        assertThat(pool.totalPages()).isEqualTo(16);
        assertAccounting(pool, held);

        int[] a = pool.allocate(5, "a");
        held.add(a);
        assertThat(a).hasSize(5).doesNotHaveDuplicates();
        assertThat(Arrays.stream(a).boxed().toList()).allSatisfy(p -> assertThat(p).isBetween(0, 15));
        assertAccounting(pool, held);

        int[] b = pool.allocate(11, "b");
        held.add(b);
        assertAccounting(pool, held);
        assertThat(pool.freePages()).isZero();

        assertThat(pool.free(a)).isEqualTo(5);
        held.remove(a);
        assertAccounting(pool, held);

        assertThat(pool.free(b)).isEqualTo(11);
        held.remove(b);
        assertAccounting(pool, held);
        assertThat(pool.usedPages()).isZero();
        assertThat(pool.toString()).contains("used=0").contains("total=16");
    }

    @Test
    void allocatingZeroPagesTakesNothing() {
        PagePool pool = pool(4);
        assertThat(pool.allocate(0, "none")).isEmpty();
        assertThat(pool.usedPages()).isZero();
        PagePool empty = pool(0);
        assertThat(empty.allocate(0, "none")).isEmpty();
        assertErrno(Errno.ENOMEM, () -> empty.allocate(1, "one"));
    }

    @Test
    void freeSkipsUnpopulatedSlots() {
        PagePool pool = pool(8);
        int[] a = pool.allocate(3, "sparse");
        int[] sparse = {a[0], -1, a[1], -1, a[2]};
        assertThat(pool.free(sparse)).isEqualTo(3);
        assertAccounting(pool, List.of());
    }

    @Test
    void freeingAFrameThatIsNotHandedOutIsEinvalAndFreesNothing() {
        PagePool pool = pool(8);
        int[] a = pool.allocate(3, "a");
        int[] freeBefore = pool.freeFrames();
        int free = pool.freeFrames()[0];
        for (int[] bad : List.of(new int[] {a[0], free}, new int[] {a[1], a[1]}, new int[] {a[2], 8},
                new int[] {a[0], Integer.MAX_VALUE})) {
            assertErrno(Errno.EINVAL, () -> pool.free(bad));
            assertThat(pool.freeFrames()).as("free frames after free(%s)", Arrays.toString(bad))
                    .isEqualTo(freeBefore);
            assertAccounting(pool, List.of(a));
        }
        assertThat(pool.free(a)).isEqualTo(3);
        assertErrno(Errno.EINVAL, () -> pool.free(a)); // a double free
        assertAccounting(pool, List.of());
        int[] all = pool.allocate(8, "all");
        assertThat(all).doesNotHaveDuplicates();
        assertAccounting(pool, List.of(all));
    }

    @Test
    void pagesAreZeroFilledAfterReuse() {
        PagePool pool = pool(4);
        int[] a = pool.allocate(4, "a");
        assertZero(pool, a);
        fill(pool, a, (byte) 0xff);
        pool.free(a);

        int[] b = pool.allocate(4, "b");
        int[] sa = a.clone();
        int[] sb = b.clone();
        Arrays.sort(sa);
        Arrays.sort(sb);
        assertThat(sb).as("the same frames come back").isEqualTo(sa);
        assertZero(pool, b);
        pool.free(b);
    }

    @Test
    void enomemIsAllOrNothing() {
        PagePool pool = pool(8);
        int[] a = pool.allocate(6, "a");
        fill(pool, a, (byte) 0x11);
        int[] freeBefore = pool.freeFrames();

        assertErrno(Errno.ENOMEM, () -> pool.allocate(3, "b"));
        assertThat(pool.usedPages()).isEqualTo(6);
        assertThat(pool.freeFrames()).isEqualTo(freeBefore);
        assertAccounting(pool, List.of(a));

        assertErrno(Errno.ENOMEM, () -> pool.allocate(9, "more than the pool"));
        assertAccounting(pool, List.of(a));

        // The frames of the failed allocations were not touched: a's bytes are intact.
        byte[] got = new byte[PagePool.PAGE_SIZE];
        for (int pfn : a) {
            pool.frame(pfn).get(0, got);
            assertThat(got).containsOnly((byte) 0x11);
        }
        int[] c = pool.allocate(2, "c");
        assertAccounting(pool, List.of(a, c));
    }

    @Test
    void negativeCountIsInvalid() {
        PagePool pool = pool(4);
        assertErrno(Errno.EINVAL, () -> pool.allocate(-1, "neg"));
        assertErrno(Errno.EINVAL, () -> pool.allocate(Integer.MIN_VALUE, "neg"));
        assertAccounting(pool, List.of());
    }

    @Test
    void negativeBackingIsRejected() {
        assertThatThrownBy(() -> frames().create(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(frames().create(3).frames()).isEqualTo(3);
        assertThat(frames().create(3).frame(2).capacity()).isEqualTo(PagePool.PAGE_SIZE);
        assertThat(frames().create(3).frame(2).isDirect()).isEqualTo(frames() == PageBacking.Kind.DIRECT);
    }

    // ------------------------------------------------------------------ failures of the backing

    /** A backing whose {@code frame()} throws a chosen failure on one call (counted from when it is armed). */
    private static final class FailingBacking implements PageBacking {
        private final PageBacking inner;
        private final AtomicInteger callsBeforeFailure = new AtomicInteger(-1);
        private volatile Throwable failure;

        FailingBacking(PageBacking inner) {
            this.inner = inner;
        }

        /** The next {@code okCalls} calls work, the one after throws {@code t} (an Error or RuntimeException). */
        void failAfter(int okCalls, Throwable t) {
            failure = t;
            callsBeforeFailure.set(okCalls);
        }

        @Override
        public int frames() {
            return inner.frames();
        }

        @Override
        public ByteBuffer frame(int pfn) {
            if (callsBeforeFailure.getAndUpdate(n -> n < 0 ? n : n - 1) == 0) {
                Throwable t = failure;
                if (t instanceof Error) {
                    throw (Error) t;
                }
                throw (RuntimeException) t;
            }
            return inner.frame(pfn);
        }
    }

    @Test
    void outOfMemoryInTheBackingFailsWithEnomemAndLeavesNothingCounted() {
        FailingBacking backing = new FailingBacking(frames().create(8));
        PagePool pool = new PagePool(backing);
        int[] a = pool.allocate(2, "a");
        OutOfMemoryError oom = new OutOfMemoryError("Java heap space (injected)");
        backing.failAfter(2, oom); // the third frame of the next allocation fails
        GemException e = catchThrowableOfType(GemException.class, () -> pool.allocate(5, "big"));
        assertThat(e).as("allocation whose backing runs out of memory").isNotNull();
        assertThat(e.errno()).isEqualTo(Errno.ENOMEM);
        assertThat(e).hasCause(oom).hasMessageContaining("big");
        assertAccounting(pool, List.of(a));
        // Every frame is usable again, and zero-filled.
        int[] rest = pool.allocate(6, "rest");
        assertZero(pool, rest);
        assertAccounting(pool, List.of(a, rest));
    }

    @Test
    void otherFailuresOfTheBackingAreRethrownAfterRestoring() {
        FailingBacking backing = new FailingBacking(frames().create(8));
        PagePool pool = new PagePool(backing);
        int[] a = pool.allocate(1, "a");
        for (Throwable t : List.of(new StackOverflowError("injected"), new AssertionError("injected"),
                new IllegalStateException("injected"))) {
            backing.failAfter(3, t);
            assertThatThrownBy(() -> pool.allocate(7, "all")).as("failure %s", t).isSameAs(t);
            assertAccounting(pool, List.of(a));
        }
        // The first frame fails: nothing was zero-filled yet, nothing is counted.
        backing.failAfter(0, new OutOfMemoryError("injected"));
        assertErrno(Errno.ENOMEM, () -> pool.allocate(1, "one"));
        assertAccounting(pool, List.of(a));
        int[] all = pool.allocate(7, "all");
        assertAccounting(pool, List.of(a, all));
    }

    // ------------------------------------------------------------------ one pool, several devices

    private static GemDevice deviceOn(PagePool pool, String name) {
        return GemDevice.builder().name(name).pool(pool).swap(SwapStore.inMemory(64))
                .leakDetection(LeakDetection.SIMPLE).build();
    }

    /** An object of {@code pages} pages with its stored sg table: evictable. */
    private static ShmemObject evictable(GemDevice d, String name, int pages) {
        ShmemObject o = d.createObject(name, (long) pages * PagePool.PAGE_SIZE);
        o.getPagesSgt();
        return o;
    }

    @Test
    void eachDeviceOnASharedPoolKeepsItsDirectReclaim() {
        PagePool pool = pool(64);
        GemDevice first = deviceOn(pool, "first");
        GemDevice second = deviceOn(pool, "second");
        try {
            ShmemObject mine = evictable(first, "mine", 32);
            ShmemObject theirs = second.createObject("theirs", 32L * PagePool.PAGE_SIZE);
            try (var pin = theirs.pin()) {
                assertThat(pin.isLive()).isTrue();
                assertThat(pool.freePages()).isZero();
                // Only the first device's object can be evicted: its registry must still be asked.
                ShmemObject needy = evictable(first, "needy", 8);
                assertThat(mine.isEvicted()).as("evicted by the first device's direct reclaim").isTrue();
                Invariants.assertClean(mine); // per object: the pool is shared, so device sums do not apply
                assertThat(needy.free().isEmpty()).isTrue();
                mine.getPagesSgt(); // back in: resident and evictable again
                // Closing the second device leaves the first one's reclaim in place.
                assertThat(pool.reclaimHookCount()).isEqualTo(2);
                second.close();
                assertThat(pool.reclaimHookCount()).isEqualTo(1);
                ShmemObject again = evictable(first, "again", 8);
                assertThat(mine.isEvicted()).isTrue();
                assertThat(again.free().isEmpty()).isTrue();
            }
            assertThat(mine.free().isEmpty()).isTrue();
            assertThat(theirs.free().isEmpty()).isTrue();
            first.close();
            assertThat(pool.reclaimHookCount()).as("each device removed its own hook").isZero();
        } finally {
            second.close();
            first.close();
        }
    }

    // ------------------------------------------------------------------ reclaim hook

    @Test
    void reclaimHookIsNotCalledWhenThePagesFit() {
        PagePool pool = pool(8);
        AtomicInteger calls = new AtomicInteger();
        pool.addReclaimHook(n -> {
            calls.incrementAndGet();
            return 0;
        });
        int[] a = pool.allocate(8, "exact");
        assertThat(calls).hasValue(0);
        pool.free(a);
    }

    @Test
    void reclaimHookRunsWhenShortAndTheAllocationSucceedsWhenItFreesPages() {
        PagePool pool = pool(8);
        int[] victim = pool.allocate(6, "victim");
        List<Long> asked = new ArrayList<>();
        pool.addReclaimHook(n -> {
            asked.add(n);
            return pool.free(victim);
        });

        int[] got = pool.allocate(4, "needy");
        assertThat(got).hasSize(4);
        assertThat(asked).as("asked once for the 2 missing pages").containsExactly(2L);
        assertAccounting(pool, List.of(got));
        assertZero(pool, got);
    }

    @Test
    void reclaimHookMayFreeInSeveralSteps() {
        PagePool pool = pool(8);
        int[] victim = pool.allocate(8, "victim");
        AtomicInteger next = new AtomicInteger();
        List<Long> asked = new ArrayList<>();
        pool.addReclaimHook(n -> {
            asked.add(n);
            return pool.free(new int[] {victim[next.getAndIncrement()]});
        });
        int[] got = pool.allocate(3, "needy");
        assertThat(got).hasSize(3);
        assertThat(asked).containsExactly(3L, 2L, 1L);
        assertThat(pool.usedPages()).isEqualTo(8);
    }

    @Test
    void reclaimThatFreesNothingFailsAfterOneTry() {
        PagePool pool = pool(8);
        int[] a = pool.allocate(7, "a");
        AtomicInteger calls = new AtomicInteger();
        pool.addReclaimHook(n -> {
            calls.incrementAndGet();
            return 0;
        });
        assertErrno(Errno.ENOMEM, () -> pool.allocate(2, "b"));
        assertThat(calls).hasValue(1);
        assertAccounting(pool, List.of(a));
    }

    @Test
    void reclaimRetriesAreBoundedEvenWhenTheHookClaimsProgress() {
        PagePool pool = pool(8);
        int[] a = pool.allocate(7, "a");
        AtomicInteger calls = new AtomicInteger();
        pool.addReclaimHook(n -> {
            calls.incrementAndGet();
            return 1; // claims progress, frees nothing (or someone else took it)
        });
        assertErrno(Errno.ENOMEM, () -> pool.allocate(2, "b"));
        assertThat(calls).hasValue(PagePool.RECLAIM_RETRIES);
        assertAccounting(pool, List.of(a));
    }

    @Test
    void closingTheRegistrationStopsReclaim() {
        PagePool pool = pool(2);
        int[] a = pool.allocate(2, "a");
        AtomicInteger calls = new AtomicInteger();
        PagePool.HookRegistration hook = pool.addReclaimHook(n -> {
            calls.incrementAndGet();
            return 0;
        });
        hook.close();
        assertErrno(Errno.ENOMEM, () -> pool.allocate(1, "b"));
        assertThat(calls).hasValue(0);
        pool.free(a);
    }

    @Test
    void severalReclaimHooksAreAskedRoundRobinUntilTheShortfallIsMet() {
        PagePool pool = pool(8);
        int[] a = pool.allocate(4, "a");
        int[] b = pool.allocate(4, "b");
        List<String> asked = new ArrayList<>();
        pool.addReclaimHook(n -> {
            asked.add("A" + n);
            return 0; // a is busy
        });
        AtomicBoolean bFreed = new AtomicBoolean();
        pool.addReclaimHook(n -> {
            asked.add("B" + n);
            return bFreed.getAndSet(true) ? 0 : pool.free(b);
        });
        AtomicInteger cCalls = new AtomicInteger();
        pool.addReclaimHook(n -> {
            cCalls.incrementAndGet();
            return 0;
        });
        int[] got = pool.allocate(3, "needy");
        assertThat(asked).as("registration order; the round stops once 3 pages are free").containsExactly("A3", "B3");
        assertThat(cCalls).hasValue(0);
        asked.clear();
        // The next round starts one hook further: B first, then C, then A; nobody frees anything.
        assertErrno(Errno.ENOMEM, () -> pool.allocate(2, "more"));
        assertThat(asked).containsExactly("B1", "A1");
        assertThat(cCalls).hasValue(1);
        assertAccounting(pool, List.of(a, got));
    }

    @Test
    void closingOneReclaimHookKeepsTheOthers() {
        PagePool pool = pool(4);
        int[] victim = pool.allocate(4, "victim");
        AtomicInteger firstCalls = new AtomicInteger();
        PagePool.HookRegistration first = pool.addReclaimHook(n -> {
            firstCalls.incrementAndGet();
            return 0;
        });
        PagePool.HookRegistration second = pool.addReclaimHook(n -> pool.free(victim));
        assertThat(pool.reclaimHookCount()).isEqualTo(2);
        first.close();
        first.close(); // idempotent: removes nothing else
        assertThat(pool.reclaimHookCount()).isEqualTo(1);
        int[] got = pool.allocate(2, "needy");
        assertThat(firstCalls).hasValue(0);
        assertAccounting(pool, List.of(got));
        second.close();
        assertThat(pool.reclaimHookCount()).isZero();
    }

    @Test
    @SuppressWarnings("deprecation")
    void setReclaimHookReplacesEveryHook() {
        PagePool pool = pool(2);
        pool.addReclaimHook(n -> 0);
        pool.addReclaimHook(n -> 0);
        pool.setReclaimHook(n -> 0);
        assertThat(pool.reclaimHookCount()).isEqualTo(1);
        pool.setReclaimHook(null);
        assertThat(pool.reclaimHookCount()).isZero();
    }

    @Test
    void aFailingReclaimHookFailsTheAllocationAndTakesNothing() {
        PagePool pool = pool(4);
        int[] a = pool.allocate(3, "a");
        IllegalStateException boom = new IllegalStateException("injected");
        pool.addReclaimHook(n -> {
            throw boom;
        });
        assertThatThrownBy(() -> pool.allocate(2, "b")).isSameAs(boom);
        assertAccounting(pool, List.of(a));
    }

    // ------------------------------------------------------------------ low-watermark hooks

    @Test
    void lowWatermarkHooksRunBelowTheirOwnMarksAndCloseIndependently() {
        PagePool pool = pool(16);
        AtomicInteger high = new AtomicInteger();
        AtomicInteger low = new AtomicInteger();
        PagePool.HookRegistration rh = pool.addLowWatermarkHook(8, high::incrementAndGet);
        PagePool.HookRegistration rl = pool.addLowWatermarkHook(4, low::incrementAndGet);
        List<int[]> held = new ArrayList<>();
        held.add(pool.allocate(6, "a")); // 10 free
        assertThat(high).hasValue(0);
        held.add(pool.allocate(4, "b")); // 6 free
        assertThat(high).hasValue(1);
        assertThat(low).hasValue(0);
        assertThat(pool.lowWatermarkHookCount()).isEqualTo(2);
        rh.close();
        rh.close(); // idempotent
        assertThat(pool.lowWatermarkHookCount()).as("the other hook stays").isEqualTo(1);
        held.add(pool.allocate(3, "c")); // 3 free
        assertThat(high).hasValue(1);
        assertThat(low).hasValue(1);
        rl.close();
        held.add(pool.allocate(1, "d"));
        assertThat(low).hasValue(1);
        assertAccounting(pool, held);
    }

    @Test
    void aFailingLowWatermarkHookUndoesTheAllocation() {
        PagePool pool = pool(8);
        int[] a = pool.allocate(2, "a");
        AssertionError boom = new AssertionError("injected");
        PagePool.HookRegistration r = pool.addLowWatermarkHook(4, () -> {
            throw boom;
        });
        assertThatThrownBy(() -> pool.allocate(3, "b")).isSameAs(boom);
        assertAccounting(pool, List.of(a));
        r.close();
        int[] b = pool.allocate(3, "b");
        assertAccounting(pool, List.of(a, b));
    }

    @Test
    void closingOneBackgroundReclaimerKeepsTheOthersWakeUp() {
        PagePool pool = pool(32);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        BackgroundReclaimer first = new BackgroundReclaimer(pool, registry, 8, 16);
        BackgroundReclaimer second = new BackgroundReclaimer(pool, registry, 8, 16);
        try {
            first.start();
            second.start();
            assertThat(pool.lowWatermarkHookCount()).as("each reclaimer's hook").isEqualTo(2);
            first.close();
            assertThat(pool.lowWatermarkHookCount()).as("the second reclaimer's hook stays").isEqualTo(1);
            first.start();
            second.close();
            assertThat(pool.lowWatermarkHookCount()).as("the restarted first reclaimer's hook stays").isEqualTo(1);
            first.close();
            assertThat(pool.lowWatermarkHookCount()).isZero();
        } finally {
            first.close();
            second.close();
        }
    }

    @Test
    void reclaimHookIsCalledWithoutThePoolLock() throws Exception {
        PagePool pool = pool(4);
        int[] victim = pool.allocate(4, "victim");
        // The hook frees from another thread and waits for it: it would deadlock if the pool's lock were held.
        pool.addReclaimHook(n -> {
            Thread t = new Thread(() -> pool.free(victim));
            t.start();
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            assertThat(t.isAlive()).as("freeing thread blocked").isFalse();
            return victim.length;
        });
        int[] got = pool.allocate(4, "needy");
        assertThat(got).hasSize(4);
        pool.free(got);
        assertAccounting(pool, List.of());
    }

    // ------------------------------------------------------------------ MemorySwapStore

    @Nested
    class MemorySwapStoreTest {
        private ByteBuffer[] pages(int n, long seed) {
            Random r = new Random(seed);
            ByteBuffer[] out = new ByteBuffer[n];
            for (int i = 0; i < n; i++) {
                byte[] b = new byte[PagePool.PAGE_SIZE];
                r.nextBytes(b);
                out[i] = ByteBuffer.wrap(b);
            }
            return out;
        }

        private ByteBuffer[] blank(int n) {
            ByteBuffer[] out = new ByteBuffer[n];
            for (int i = 0; i < n; i++) {
                out[i] = ByteBuffer.allocate(PagePool.PAGE_SIZE);
            }
            return out;
        }

        @Test
        void roundTrip() throws IOException {
            SwapStore store = SwapStore.inMemory(8);
            assertThat(store.capacityPages()).isEqualTo(8);
            assertThat(store.usedPages()).isZero();
            ByteBuffer[] src = pages(3, 42);
            SwapSlots slots = store.store(src);
            assertThat(slots.pages()).isEqualTo(3);
            assertThat(store.usedPages()).isEqualTo(3);
            assertThat(store.hasRoom(5)).isTrue();
            assertThat(store.hasRoom(6)).isFalse();

            // The store keeps a copy: changing the source does not change what is loaded.
            ByteBuffer[] expected = pages(3, 42);
            src[0].put(0, (byte) ~src[0].get(0));

            ByteBuffer[] into = blank(3);
            store.load(slots, into);
            for (int i = 0; i < 3; i++) {
                assertThat(into[i].array()).as("page %d", i).isEqualTo(expected[i].array());
            }
            // The receipt stays valid after a load.
            ByteBuffer[] again = blank(3);
            store.load(slots, again);
            assertThat(again[2].array()).isEqualTo(expected[2].array());
            assertThat(store.usedPages()).isEqualTo(3);

            store.release(slots);
            assertThat(store.usedPages()).isZero();
            store.close();
        }

        @Test
        void fullStoreThrowsIOExceptionAndHoldsNothingMore() throws IOException {
            SwapStore store = SwapStore.inMemory(4);
            SwapSlots a = store.store(pages(3, 1));
            assertThatThrownBy(() -> store.store(pages(2, 2))).isInstanceOf(IOException.class)
                    .hasMessageContaining("full");
            assertThat(store.usedPages()).isEqualTo(3);
            SwapSlots b = store.store(pages(1, 3));
            assertThat(store.usedPages()).isEqualTo(4);
            assertThatThrownBy(() -> store.store(pages(1, 4))).isInstanceOf(IOException.class);
            store.release(a);
            store.release(b);
            assertThat(store.usedPages()).isZero();

            SwapStore none = SwapStore.none();
            assertThat(none.capacityPages()).isZero();
            assertThat(none.hasRoom(1)).isFalse();
            assertThatThrownBy(() -> none.store(pages(1, 5))).isInstanceOf(IOException.class);
            assertThat(none.usedPages()).isZero();
        }

        @Test
        void doubleReleaseIsRejected() throws IOException {
            SwapStore store = SwapStore.inMemory(4);
            SwapSlots s = store.store(pages(2, 6));
            store.release(s);
            assertThatThrownBy(() -> store.release(s)).isInstanceOf(IllegalArgumentException.class);
            assertThat(store.usedPages()).as("the second release freed nothing").isZero();
            assertThatThrownBy(() -> store.load(s, blank(2))).isInstanceOf(IllegalArgumentException.class);
        }

        @Test
        void receiptsOfAnotherStoreAreRejected() throws IOException {
            SwapStore mine = SwapStore.inMemory(4);
            SwapStore theirs = SwapStore.inMemory(4);
            SwapSlots foreign = theirs.store(pages(2, 7));
            SwapSlots own = mine.store(pages(1, 8));
            assertThatThrownBy(() -> mine.load(foreign, blank(2))).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> mine.release(foreign)).isInstanceOf(IllegalArgumentException.class);
            SwapSlots alien = new SwapSlots(null, 1) {
            };
            assertThatThrownBy(() -> mine.release(alien)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> mine.load(alien, blank(1))).isInstanceOf(IllegalArgumentException.class);
            assertThat(mine.usedPages()).isEqualTo(1);
            assertThat(theirs.usedPages()).isEqualTo(2);
            theirs.release(foreign);
            mine.release(own);
            assertThat(mine.usedPages()).isZero();
            assertThat(theirs.usedPages()).isZero();
        }

        @Test
        void negativeCapacityIsRejected() {
            assertThatThrownBy(() -> SwapStore.inMemory(-1)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
