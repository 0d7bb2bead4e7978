package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.testing.InjectedError;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.LeakWarnings;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code with} forms of taking a reference ({@link ShmemObject#withPin}, {@link ShmemObject#withPages},
 * {@link ShmemObject#withVmap}): the call owns its reference. Counted and tallied like an owner object's while the
 * call runs, released exactly once however the call ends, named by {@code free()} as a live owner (with tracking,
 * with where it was taken), and allocation-free on the lock-free path with tracking off.
 */
class HeldCallTest {
    private static final int PAGE = PagePool.PAGE_SIZE;

    private final GemDevice device = GemDevice.builder().ramPages(64).leakDetection(LeakDetection.SIMPLE).build();

    @AfterEach
    void closeDevice() {
        device.close();
    }

    /** A resident object with its stored sg table (so it is evictable). */
    private ShmemObject resident(GemDevice dev, String name) {
        ShmemObject o = dev.createObject(name, 2L * PAGE);
        o.getPagesSgt();
        return o;
    }

    private static Map<OwnerKind, Integer> tallies(ShmemObject o) {
        return o.inspect().tally();
    }

    @Test
    void aPinnedObjectsHeldPinIsCountedAndTalliedWhileTheCallRunsAndGoneAfter() {
        ShmemObject o = resident(device, "p");
        try (Pin held = o.pin()) {
            String r = o.withPin((obj, arg) -> {
                assertThat(obj.pinCount()).isEqualTo(2);
                assertThat(tallies(obj)).containsEntry(OwnerKind.PIN_HANDLE, 2);
                Invariants.assertClean(device);
                return arg + " done";
            }, "pin");
            assertThat(r).isEqualTo("pin done");
            assertThat(o.pinCount()).isEqualTo(1);
            assertThat(tallies(o)).containsEntry(OwnerKind.PIN_HANDLE, 1);
            Invariants.assertClean(device);
            assertThat(held.isLive()).as("the other pin is untouched").isTrue();
        }
        assertThat(o.free().isEmpty()).isTrue();
        Invariants.assertEmpty(device);
    }

    @Test
    void aPageUseOnAnObjectInUseIsCountedAndTalliedWhileTheCallRuns() {
        ShmemObject o = resident(device, "u");
        int uses = o.withPages((obj, arg) -> {
            assertThat(tallies(obj)).containsEntry(OwnerKind.PAGES_HANDLE, 1);
            Invariants.assertClean(device);
            return obj.pagesUseCount();
        }, null);
        assertThat(uses).isEqualTo(2);
        assertThat(o.pagesUseCount()).isEqualTo(1);
        assertThat(tallies(o)).containsEntry(OwnerKind.PAGES_HANDLE, 0);
        Invariants.assertClean(device);
    }

    @Test
    void aHeldMappingLetsTheCallReadAndWriteTheObjectsBytes() {
        ShmemObject o = resident(device, "m");
        try (VMap other = o.vmap()) {
            byte[] back = o.withVmap((obj, src) -> {
                assertThat(obj.vmapCount()).isEqualTo(2);
                assertThat(tallies(obj)).containsEntry(OwnerKind.VMAP_HANDLE, 2);
                obj.write(PAGE - 2, src);
                byte[] dst = new byte[src.length];
                obj.read(PAGE - 2, dst);
                Invariants.assertClean(device);
                return dst;
            }, new byte[] {1, 2, 3, 4});
            assertThat(back).containsExactly(1, 2, 3, 4);
            byte[] seen = new byte[4];
            other.read(PAGE - 2, seen, 0, 4);
            assertThat(seen).containsExactly(1, 2, 3, 4);
            assertThat(o.vmapCount()).isEqualTo(1);
            assertThat(tallies(o)).containsEntry(OwnerKind.VMAP_HANDLE, 1);
        }
        Invariants.assertClean(device);
    }

    @Test
    void withNothingHeldTheCallTakesTheFirstReferenceOnTheLockedPathAndDropsItAgain() {
        ShmemObject o = resident(device, "f");
        o.withVmap((obj, arg) -> {
            assertThat(obj.vmapCount()).isEqualTo(1);
            assertThat(obj.pinCount()).isEqualTo(1);
            Invariants.assertClean(device);
            return null;
        }, null);
        assertThat(o.vmapCount()).isZero();
        assertThat(o.pinCount()).isZero();
        assertThat(o.isEvictable()).isTrue();
        ShmemObject fresh = device.createObject("fresh", PAGE);
        fresh.withPages((obj, arg) -> {
            assertThat(obj.isResident()).isTrue();
            return null;
        }, null);
        assertThat(fresh.isResident()).as("the last put frees the pages").isFalse();
        Invariants.assertClean(device);
    }

    @Test
    void whateverTheCallThrowsPassesThroughAfterTheReferenceIsDropped() {
        ShmemObject o = resident(device, "t");
        try (Pin held = o.pin(); VMap map = o.vmap()) {
            assertThatThrownBy(() -> o.withPin((obj, arg) -> {
                throw new IllegalStateException("body failed");
            }, null)).isInstanceOf(IllegalStateException.class).hasMessage("body failed");
            assertThatThrownBy(() -> o.withVmap((obj, arg) -> {
                throw new InjectedError("in the body");
            }, null)).isInstanceOf(InjectedError.class);
            assertThatThrownBy(() -> o.withPages((obj, arg) -> {
                throw new GemException(Errno.EINVAL, "body failed");
            }, null)).isInstanceOf(GemException.class);
            assertThat(o.pinCount()).isEqualTo(2); // held, and the mapping's pin
            assertThat(o.vmapCount()).isEqualTo(1);
            assertThat(o.pagesUseCount()).isEqualTo(2); // the sgt's and the pins'
            Invariants.assertClean(device);
            assertThat(held.isLive() && map.isLive()).as("the other owners are untouched").isTrue();
        }
        assertThatThrownBy(() -> o.withPin((obj, arg) -> {
            throw new InjectedError("on the locked path");
        }, null)).isInstanceOf(InjectedError.class);
        assertThat(o.pinCount()).isZero();
        Invariants.assertClean(device);
    }

    @Test
    void nestedCallsEachOwnOneReference() {
        ShmemObject o = resident(device, "n");
        int deepest = o.withPin((a, x) -> a.withPin((b, y) -> b.withPin((c, z) -> c.pinCount(), null), null), null);
        assertThat(deepest).isEqualTo(3);
        assertThat(o.pinCount()).isZero();
        Invariants.assertClean(device);
    }

    @Test
    void aSecondCloseOfAnOwnerDuringTheCallIsRefusedAndLeavesTheCallsPin() {
        ShmemObject o = resident(device, "twice");
        Pin first = o.pin();
        Pin second = o.pin();
        int during = o.withPin((obj, p) -> {
            p.close();
            assertThatThrownBy(p::close).isInstanceOf(GemException.class)
                    .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EINVAL);
            assertThat(tallies(obj)).containsEntry(OwnerKind.PIN_HANDLE, 2); // the other owner and the call
            Invariants.assertClean(device);
            return obj.pinCount();
        }, second);
        assertThat(during).isEqualTo(2);
        assertThat(first.isLive()).isTrue();
        first.close();
        assertThat(o.pinCount()).isZero();
        Invariants.assertClean(device);
    }

    @Test
    void aFreedObjectRefusesTheCallWithoutRunningIt() {
        ShmemObject o = resident(device, "gone");
        assertThat(o.free().isEmpty()).isTrue();
        assertThatThrownBy(() -> o.withPin((obj, arg) -> {
            throw new AssertionError("ran on a freed object");
        }, null)).isInstanceOf(GemException.class).extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.ENOENT);
        assertThatThrownBy(() -> o.read(0, new byte[1])).isInstanceOf(GemException.class);
        Invariants.assertEmpty(device);
    }

    @Test
    void freeInsideTheCallNamesItsPinAndTheObjectRetiresWhenTheCallReturns() {
        ShmemObject o = resident(device, "leak");
        try (Pin held = o.pin()) {
            LeakReport report = o.withPin((obj, arg) -> LeakWarnings.freeLeaking(obj), null);
            assertThat(report.counts()).containsOnly(Map.entry(OwnerKind.PIN_HANDLE, 2),
                    Map.entry(OwnerKind.PAGES_PIN, 1));
            assertThat(report.note()).contains("leakDetection(SIMPLE)");
            assertThat(device.objects()).as("one pin still held").contains(o);
            assertThat(held.isLive()).isTrue();
        }
        Invariants.assertEmpty(device);
    }

    @Test
    void withTrackingFreeNamesWhereTheCallTookItsReference() {
        try (GemDevice tracked = GemDevice.builder().ramPages(16).leakDetection(LeakDetection.PARANOID).build()) {
            ShmemObject o = resident(tracked, "tracked");
            try (Pin held = o.pin()) {
                LeakReport report = o.withPin((obj, arg) -> LeakWarnings.freeLeaking(obj), null);
                assertThat(report.transitions()).filteredOn(t -> t.owner() == OwnerKind.PIN_HANDLE).hasSize(2)
                        .allSatisfy(t -> assertThat(t.site()).startsWith("HeldCallTest.withTrackingFree"));
                assertThat(held.isLive()).isTrue();
            }
            Invariants.assertEmpty(tracked);
        }
    }

    @Test
    void freeOnAnotherThreadWhileACallHoldsTheOnlyExtraPinNamesItAndWaitsForIt() throws Exception {
        ShmemObject o = resident(device, "shared");
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Pin first = o.pin();
        Thread user = new Thread(() -> {
            try {
                o.withPin((obj, arg) -> {
                    inside.countDown();
                    awaitQuietly(leave);
                    return obj.isResident();
                }, null);
            } catch (Throwable t) {
                failed.set(t);
            }
        }, "held-call");
        user.start();
        assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
        first.close(); // the call's pin is now the only one: its release will be the locked 1 -> 0
        LeakReport report = LeakWarnings.freeLeaking(o);
        assertThat(report.counts()).containsEntry(OwnerKind.PIN_HANDLE, 1);
        leave.countDown();
        user.join(10_000);
        assertThat(user.isAlive()).isFalse();
        assertThat(failed.get()).isNull();
        Invariants.assertEmpty(device);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            assertThat(latch.await(10, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The function the allocation check runs: nothing (non-capturing, one instance). */
    private static final HeldCall<ShmemObject, ShmemObject> NOTHING = (obj, arg) -> arg;

    /**
     * With tracking off and the counts above zero, the {@code with} forms allocate nothing per call: measured with
     * the thread's allocation counter over many calls after the code is compiled (an owner object per call would be
     * at least 16 bytes each). The JMH proof is {@code HotPaths1T.oursWith*} with {@code -prof gc}.
     */
    @Test
    void theLockFreeFormsAllocateNothingPerCall() throws ReflectiveOperationException {
        ShmemObject o = resident(device, "alloc");
        try (Pin pin = o.pin(); VMap map = o.vmap()) {
            int calls = 100_000;
            long perCall = Long.MAX_VALUE;
            for (int round = 0; round < 5 && perCall > 0; round++) {
                long before = allocatedByThisThread();
                for (int i = 0; i < calls; i++) {
                    o.withPin(NOTHING, o).withPages(NOTHING, o).withVmap(NOTHING, o);
                }
                perCall = (allocatedByThisThread() - before) / calls;
            }
            assertThat(perCall).as("bytes allocated per three calls").isZero();
            assertThat(o.pinCount()).isEqualTo(2);
            assertThat(o.vmapCount()).isEqualTo(1);
            assertThat(pin.isLive() && map.isLive()).isTrue();
        }
        Invariants.assertClean(device);
    }

    /**
     * The bytes this thread has allocated so far, from HotSpot's per-thread counter (through reflection: the
     * {@code jdk.management} module is not one the library reads).
     */
    private static long allocatedByThisThread() throws ReflectiveOperationException {
        Object threads = ManagementFactory.getThreadMXBean();
        Method m = Class.forName("com.sun.management.ThreadMXBean").getMethod("getThreadAllocatedBytes", long.class);
        return (long) m.invoke(threads, Thread.currentThread().getId());
    }
}
