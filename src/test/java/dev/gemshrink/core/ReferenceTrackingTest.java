package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.CapturedLog;
import dev.gemshrink.testing.FaultySwapStore;
import dev.gemshrink.testing.Invariants;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Reference tracking names where each stray reference was taken. Each test produces one bug class a careless change
 * would, without editing main code (through {@link BrokenPaths}, a broken driver or evictor, or a store that drops
 * releases), and checks that the report names the object, the owner kind and the method and line at fault.
 */
class ReferenceTrackingTest {
    private static final int PAGE = PagePool.PAGE_SIZE;
    private static final String FILE = "ReferenceTrackingTest.java:";

    private final GemDevice device = GemDevice.builder().ramPages(64).swap(SwapStore.inMemory(64))
            .leakDetection(LeakDetection.PARANOID).build();

    /** The line after the caller's: where the statement following this call is. */
    private static int nextLine() {
        return StackWalker.getInstance().walk(s -> s.skip(1).findFirst().orElseThrow().getLineNumber()) + 1;
    }

    /** The violations of one rule. */
    private List<Violation> violations(String rule) {
        return InvariantChecker.check(device).stream().filter(v -> v.rule().equals(rule)).toList();
    }

    /**
     * A driver that gets the seed's bug class wrong twice: its heap fault takes a page use on every fault after the
     * first without recording an owner, and its GPU map path takes the sg table's use without storing the table.
     */
    private static final class BrokenDriver {
        private final ShmemObject heap;
        private PagesRef chunks;
        int strayLine;

        BrokenDriver(ShmemObject heap) {
            this.heap = heap;
        }

        void heapFault(int chunk) {
            heap.resv().lock();
            try {
                if (chunks == null) {
                    chunks = heap.getPagesSparse(OwnerKind.PAGES_HEAP_CHUNKS);
                } else {
                    strayLine = nextLine();
                    BrokenPaths.TAKE_WITHOUT_OWNER.take(heap, RefKind.PAGES);
                }
                heap.populate(chunk, 1);
            } finally {
                heap.resv().unlock();
            }
        }

        ScatterList mapForGpu(ShmemObject bo) {
            bo.resv().lock();
            try {
                strayLine = nextLine();
                BrokenPaths.TAKE_WITHOUT_OWNER.take(bo, RefKind.PAGES);
                return bo.getSgTable();
            } finally {
                bo.resv().unlock();
            }
        }
    }

    /** The leaks these tests make on purpose warn at free: captured, and checked to be nothing else. */
    private CapturedLog leakWarnings;

    @BeforeEach
    void captureLeakWarnings() {
        leakWarnings = CapturedLog.of(ShmemObject.class);
    }

    @AfterEach
    void onlyLeakWarnings() {
        leakWarnings.close();
        assertThat(leakWarnings.messages(Level.WARN))
                .allSatisfy(m -> assertThat(m).contains(" freed with live owners"));
    }

    @Test
    void aPageUseTakenWithoutOwnerOnTheHeapFaultPathNamesTheFaultHandlersLine() {
        ShmemObject heap = device.createObject("h", 4 * PAGE);
        BrokenDriver driver = new BrokenDriver(heap);
        driver.heapFault(0);
        assertThat(InvariantChecker.check(device)).isEmpty();
        driver.heapFault(1);

        List<Violation> v = violations("use-count-equals-owners");
        assertThat(v).hasSize(1);
        assertThat(v.get(0).subject()).isEqualTo("h");
        assertThat(v.get(0).toString()).startsWith("h: use-count-equals-owners: pages_use=2 but live page owners=1: "
                + "+1 with no owner at ReferenceTrackingTest$BrokenDriver.heapFault(" + FILE + driver.strayLine + ")")
                .contains("owners: PAGES_HEAP_CHUNKS x1 (at ReferenceTrackingTest$BrokenDriver.heapFault(" + FILE);
    }

    @Test
    void aPageUseTakenWithoutOwnerOnTheSgtPathNamesTheMapPathsLine() {
        ShmemObject bo = device.createObject("bo", 2 * PAGE);
        int taken = nextLine();
        PagesRef user = bo.getPages();
        BrokenDriver driver = new BrokenDriver(bo);
        driver.mapForGpu(bo);

        List<Violation> v = violations("use-count-equals-owners");
        assertThat(v).singleElement().hasToString("bo: use-count-equals-owners: pages_use=2 but live page owners=1: "
                + "+1 with no owner at ReferenceTrackingTest$BrokenDriver.mapForGpu(" + FILE + driver.strayLine
                + "); owners: PAGES_HANDLE x1 (at ReferenceTrackingTest."
                + "aPageUseTakenWithoutOwnerOnTheSgtPathNamesTheMapPathsLine(" + FILE + taken + "))");
        LeakReport report = bo.free();
        assertThat(report.toString()).contains("+1 with no owner at ReferenceTrackingTest$BrokenDriver.mapForGpu("
                + FILE + driver.strayLine + ")");
        user.close();
    }

    @Test
    void aFreeThatForgetsTheSgtUseNamesWhereTheTableWasBuilt() {
        ShmemObject bo = device.createObject("sg", 2 * PAGE);
        int built = nextLine();
        bo.getPagesSgt();

        LeakReport report = BrokenPaths.freeForgettingSgtUse(bo);
        assertThat(report.isEmpty()).as("the dropped owner is still a leak").isFalse();
        String site = "+1 of PAGES_SGT, no longer held, at ReferenceTrackingTest."
                + "aFreeThatForgetsTheSgtUseNamesWhereTheTableWasBuilt(" + FILE + built + ")";
        assertThat(report.toString()).startsWith("sg freed with live owners:").contains(site);
        assertThat(device.objects()).as("a leak keeps the object known to the checker").contains(bo);
        assertThat(violations("use-count-equals-owners")).singleElement().asString()
                .startsWith("sg: use-count-equals-owners: pages_use=1 but live page owners=0: " + site);
        assertThat(violations("freed-holds-nothing")).singleElement().asString().contains(site);
    }

    @Test
    void aVunmapThatForgetsItsPinNamesWhereTheMappingWasTaken() {
        ShmemObject bo = device.createObject("mapped", 2 * PAGE);
        int mapped = nextLine();
        VMap map = bo.vmap();

        BrokenPaths.vunmapForgettingPin(map);
        assertThat(violations("pin-count-equals-owners")).singleElement().hasToString(
                "mapped: pin-count-equals-owners: pin=1 but live pin owners=0: +1 of PIN_VMAP, no longer held, at "
                        + "ReferenceTrackingTest.aVunmapThatForgetsItsPinNamesWhereTheMappingWasTaken(" + FILE + mapped
                        + "); owners: PAGES_PIN x1 (at ReferenceTrackingTest."
                        + "aVunmapThatForgetsItsPinNamesWhereTheMappingWasTaken(" + FILE + mapped + "))");
    }

    @Test
    void aSwapInThatForgetsItsSlotsNamesTheObjectAndWhereItWasEvicted() {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(16));
        GemDevice dev = GemDevice.builder().ramPages(16).swap(swap).leakDetection(LeakDetection.PARANOID).build();
        ShmemObject bo = dev.createObject("swapped", 4 * PAGE);
        ShmemObject other = dev.createObject("other", 2 * PAGE);
        other.getPagesSgt();
        bo.getPagesSgt();
        int evicted = nextLine();
        bo.evict();
        swap.dropReleases(true);
        bo.getPagesSgt(); // swaps in; the store keeps the slots it was asked to release

        assertThat(InvariantChecker.check(dev)).filteredOn(v -> v.rule().equals("swap-used-equals-swapped"))
                .singleElement().hasToString("device: swap-used-equals-swapped: swap has 4 pages in use but objects"
                        + " hold 0 (held by: none); swapped: 4 swap pages"
                        + " stored at ReferenceTrackingTest.aSwapInThatForgetsItsSlotsNamesTheObjectAndWhereItWasEvicted("
                        + FILE + evicted + "), which swapped no longer holds");
    }

    /** An evictor whose evict skips the busy check: it asks the permit to evict whatever it is handed. */
    private static final class EagerEvictor implements Evictor {
        @Override
        public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
            return Evictor.shmem().purge(obj, permit);
        }

        @Override
        public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
            permit.evict(null);
            return Outcome.DONE;
        }
    }

    @Test
    void anEvictorThatSkipsTheBusyCheckIsRefusedNamingThePinAndWhereItWasTaken() {
        ShmemObject bo = device.createObject("busy", 2 * PAGE, new EagerEvictor());
        bo.getPagesSgt();
        int pinned = nextLine();
        Pin pin = bo.pin();

        assertThatThrownBy(bo::evict).isInstanceOfSatisfying(GemException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EBUSY);
            assertThat(e.getMessage()).startsWith("cannot evict busy: ").contains("+1 of PIN_HANDLE at "
                    + "ReferenceTrackingTest.anEvictorThatSkipsTheBusyCheckIsRefusedNamingThePinAndWhereItWasTaken("
                    + FILE + pinned + ")");
        });
        assertThat(bo.isResident()).isTrue();
        pin.close();
        assertThat(InvariantChecker.check(device)).isEmpty();
    }

    @Test
    void everyTransitionIsRecordedFastPathsIncludedAndUndoneByItsRelease() {
        ShmemObject bo = device.createObject(2 * PAGE);
        Pin first = bo.pin(); // locked path: pins' page use, then the pin
        Pin second = bo.pin(); // fast path
        PagesRef use = bo.getPages(); // fast path
        VMap map = bo.vmap(); // locked: the mappings' pin (fast), then the mapping
        Export export = bo.export();
        assertThat(bo.leakReport().transitions()).allMatch(RefTransition::matched).extracting(RefTransition::owner)
                .containsExactlyInAnyOrder(OwnerKind.PAGES_PIN, OwnerKind.PIN_HANDLE, OwnerKind.PIN_HANDLE,
                        OwnerKind.PAGES_HANDLE, OwnerKind.PIN_VMAP, OwnerKind.VMAP_HANDLE, OwnerKind.EXPORT_HANDLE);
        assertThat(bo.inspect().trackedOwners()).isEqualTo(7);
        second.close(); // fast path
        map.close();
        export.close();
        use.close();
        assertThat(bo.leakReport().transitions()).extracting(RefTransition::owner)
                .containsExactlyInAnyOrder(OwnerKind.PAGES_PIN, OwnerKind.PIN_HANDLE);
        first.close();
        assertThat(bo.leakReport().transitions()).isEmpty();
        assertThat(bo.free().isEmpty()).isTrue();
        Invariants.assertEmpty(device);
    }

    @Test
    void aLeakReportStartsEachStackAtTheCallersFrame() {
        ShmemObject bo = device.createObject("leaky", PAGE);
        int taken = nextLine();
        Pin pin = bo.pin();
        LeakReport report = bo.free();
        RefTransition t = report.transitions().stream().filter(r -> r.owner() == OwnerKind.PIN_HANDLE)
                .findFirst().orElseThrow();
        assertThat(t.stack().get(0).getMethodName()).isEqualTo("aLeakReportStartsEachStackAtTheCallersFrame");
        assertThat(t.stack().get(0).getLineNumber()).isEqualTo(taken);
        assertThat(t.stack()).hasSizeLessThanOrEqualTo(RefTracker.STACK_DEPTH);
        assertThat(pin.acquiredAt()).get().extracting(w -> w.getStackTrace()[0].getLineNumber()).isEqualTo(taken);
        assertThat(report.note()).isNull();
        pin.close();
        Invariants.assertEmpty(device);
    }

    @Test
    void withTrackingOffTheLeakHintSaysWhatWouldHelp() {
        GemDevice simple = GemDevice.builder().ramPages(8).leakDetection(LeakDetection.SIMPLE).build();
        ShmemObject bo = simple.createObject("untracked", PAGE);
        PagesRef use = bo.getPages();
        assertThat(bo.inspect().transitions()).isEmpty();
        LeakReport report = bo.free();
        assertThat(report.transitions()).isEmpty();
        assertThat(report.toString()).contains("PAGES_HANDLE x1")
                .contains("this device's builder chose leakDetection(SIMPLE)")
                .doesNotContain("-Dgemshrink.leakDetection");
        use.close();
    }
}
