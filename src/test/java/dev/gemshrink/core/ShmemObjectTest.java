package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.LeakWarnings;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The semantics of {@link ShmemObject} beyond the kernel KUnit suite: the userspace conformance expectations of the
 * reference (section 6) that apply to the core, owner misuse, leak reports, eviction to swap and swap-in, memory
 * exhaustion, and the rule that a failing call changes no state. The invariant checker runs after every step.
 */
class ShmemObjectTest {
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

    private static void assertErrno(Errno errno, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(GemException.class)
                .satisfies(e -> assertThat(((GemException) e).errno()).as("errno of %s", e).isEqualTo(errno));
    }

    private void freeCleanly(ShmemObject obj) {
        LeakReport report = obj.free();
        assertThat(report.isEmpty()).as("leaks: %s", report).isTrue();
        step();
    }

    private static byte[] pattern(int len, long seed) {
        byte[] b = new byte[len];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] readAll(ShmemObject obj) {
        byte[] b = new byte[(int) obj.size()];
        obj.read(0, b);
        return b;
    }

    /**
     * Field-by-field comparison of two snapshots: ObjectState holds an int[], so record equality would compare the
     * arrays' identities. The recursive comparison visits every component (also ones added later) and compares
     * arrays element by element.
     */
    private static void assertSameState(ObjectState before, ObjectState after) {
        assertThat(after.pfns()).as("pfns").isEqualTo(before.pfns());
        assertThat(after).usingRecursiveComparison().as("state of %s", before.name()).isEqualTo(before);
    }

    /** Runs a call that must fail with {@code errno} and asserts it changed neither the object nor the memory. */
    private void assertFailsWithoutChange(ShmemObject obj, Errno errno, ThrowingCallable call) {
        ObjectState before = obj.inspect();
        int poolUsed = device.pool().usedPages();
        long swapUsed = device.swap().usedPages();
        byte[] contents = obj.isResident() && obj.pinCount() > 0 ? snapshotPinned(obj) : null;
        assertErrno(errno, call);
        step();
        assertSameState(before, obj.inspect());
        assertThat(device.pool().usedPages()).as("pool pages in use").isEqualTo(poolUsed);
        assertThat(device.swap().usedPages()).as("swap pages in use").isEqualTo(swapUsed);
        if (contents != null) {
            assertThat(snapshotPinned(obj)).as("contents").isEqualTo(contents);
        }
    }

    private static byte[] snapshotPinned(ShmemObject obj) {
        byte[] b = new byte[(int) obj.size()];
        int[] pfns = obj.inspect().pfns();
        for (int i = 0; i < pfns.length; i++) {
            obj.device().pool().frame(pfns[i]).get(0, b, i * PAGE, PAGE);
        }
        return b;
    }

    // ================================================================== section 6: contents

    @Test
    void newObjectReadsZerosEvenOnFramesOfAFreedObject() {
        device(4, 0); // a tiny pool: the second object must get the first one's frames
        ShmemObject a = device.createObject("a", 4 * PAGE);
        a.getPagesSgt();
        step();
        int[] aFrames = a.inspect().pfns().clone();
        byte[] full = new byte[4 * PAGE];
        Arrays.fill(full, (byte) 0x5a);
        a.write(0, full);
        step();
        assertThat(readAll(a)).isEqualTo(full);
        freeCleanly(a);
        Invariants.assertEmpty(device);

        ShmemObject b = device.createObject("b", 4 * PAGE);
        b.getPagesSgt();
        step();
        int[] bFrames = b.inspect().pfns().clone();
        Arrays.sort(aFrames);
        Arrays.sort(bFrames);
        assertThat(bFrames).as("b got a's frames").isEqualTo(aFrames);
        assertThat(readAll(b)).as("b's contents").isEqualTo(new byte[4 * PAGE]);
        step();
        freeCleanly(b);

        // Without any owner, a CPU read sees fresh zero pages too.
        ShmemObject c = device.createObject("c", 4 * PAGE);
        assertThat(readAll(c)).isEqualTo(new byte[4 * PAGE]);
        step();
        freeCleanly(c);
        Invariants.assertEmpty(device);
    }

    @Test
    void dontneedObjectThatWasNotPurgedKeepsItsContents() {
        device(64, 0);
        ShmemObject obj = device.createObject(8 * PAGE);
        obj.getPagesSgt();
        byte[] data = pattern(8 * PAGE, 1);
        obj.write(0, data);
        step();
        assertThat(obj.madvise(Madv.DONTNEED)).isTrue();
        step();
        assertThat(obj.isPurgeable()).isTrue();
        assertThat(readAll(obj)).as("DONTNEED contents are still readable").isEqualTo(data);
        step();
        assertThat(obj.madvise(Madv.WILLNEED)).as("retained").isTrue();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.WILLNEED);
        assertThat(readAll(obj)).isEqualTo(data);
        step();
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void cpuAccessToAPurgedObjectFaults() {
        device(64, 0);
        ShmemObject obj = device.createObject(8 * PAGE);
        obj.getPagesSgt();
        obj.write(0, pattern(8 * PAGE, 2));
        obj.madvise(Madv.DONTNEED);
        obj.purge();
        step();
        assertFailsWithoutChange(obj, Errno.EFAULT, () -> obj.read(0, new byte[16]));
        assertFailsWithoutChange(obj, Errno.EFAULT, () -> obj.write(0, new byte[16]));
        assertThat(obj.madvise(Madv.WILLNEED)).as("retained after purge").isFalse();
        step();
        assertFailsWithoutChange(obj, Errno.EFAULT, () -> obj.read(0, new byte[16]));
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void cpuAccessOutsideTheObjectIsInvalid() {
        device(64, 0);
        ShmemObject obj = device.createObject(2 * PAGE);
        obj.getPagesSgt();
        step();
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.read(2 * PAGE - 1, new byte[2]));
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.write(-1, new byte[1]));
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.read(2 * PAGE, new byte[1]));
        freeCleanly(obj);
    }

    @Test
    void cpuAccessCrossesPageBoundaries() {
        device(64, 0);
        ShmemObject obj = device.createObject(3 * PAGE);
        obj.getPagesSgt();
        byte[] data = pattern(PAGE + 100, 3);
        obj.write(PAGE - 50, data);
        step();
        byte[] back = new byte[data.length];
        obj.read(PAGE - 50, back);
        assertThat(back).isEqualTo(data);
        byte[] all = readAll(obj);
        assertThat(Arrays.copyOfRange(all, 0, PAGE - 50)).isEqualTo(new byte[PAGE - 50]);
        assertThat(Arrays.copyOfRange(all, 2 * PAGE + 50, 3 * PAGE)).isEqualTo(new byte[PAGE - 50]);
        step();
        freeCleanly(obj);
    }

    // ================================================================== owners

    @Test
    void doubleCloseOfAnyOwnerIsInvalid() {
        device(64, 0);
        ShmemObject obj = device.createObject(4 * PAGE);
        obj.getPagesSgt(); // keep the pages so every owner can be taken and dropped
        step();
        List<Owner> owners = List.of(obj.getPages(), obj.getPages(OwnerKind.PAGES_HEAP_CHUNKS),
                obj.getPages(OwnerKind.PAGES_HEAP_CHUNKS), obj.pin(), obj.vmap(), obj.export());
        step();
        for (Owner o : owners) {
            o.close();
            step();
            assertThat(o.isLive()).isFalse();
            assertFailsWithoutChange(obj, Errno.EINVAL, o::close);
        }
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        assertThat(obj.pinCount()).isZero();
        assertThat(obj.vmapCount()).isZero();
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void doubleCloseOfTheLastOwnerIsInvalid() {
        device(64, 0);
        ShmemObject obj = device.createObject(4 * PAGE);
        Pin pin = obj.pin();
        step();
        pin.close();
        step();
        assertThat(obj.isResident()).isFalse();
        assertFailsWithoutChange(obj, Errno.EINVAL, pin::close);
        VMap map = obj.vmap();
        map.close();
        step();
        assertFailsWithoutChange(obj, Errno.EINVAL, map::close);
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> map.get(0));
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void callersCannotTakeOrCloseInternalOwners() {
        device = GemDevice.builder().ramPages(64).leakDetection(LeakDetection.PARANOID).build();
        step();
        ShmemObject obj = device.createObject(4 * PAGE);
        obj.getPagesSgt();
        VMap map = obj.vmap(); // holds PIN_VMAP, which holds PAGES_PIN
        step();
        for (OwnerKind k : OwnerKind.values()) {
            if (k.internal() || k.ref() != RefKind.PAGES) {
                assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.getPages(k));
            }
        }
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.getPages(null));
        assertThat(obj.leakReport().transitions()).extracting(RefTransition::owner).containsExactlyInAnyOrder(
                OwnerKind.PAGES_SGT, OwnerKind.PAGES_PIN, OwnerKind.PIN_VMAP, OwnerKind.VMAP_HANDLE);
        List<Owner> internal = BrokenPaths.ownOwners(obj);
        assertThat(internal).extracting(Owner::kind)
                .containsExactlyInAnyOrder(OwnerKind.PAGES_SGT, OwnerKind.PAGES_PIN, OwnerKind.PIN_VMAP);
        for (Owner o : internal) {
            assertFailsWithoutChange(obj, Errno.EINVAL, o::close);
            assertThat(o.isLive()).isTrue();
        }
        map.close();
        step();
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    // ================================================================== freed objects

    @Test
    void operationsOnAFreedObjectAreENOENT() {
        device(64, 16);
        ShmemObject obj = device.createObject(4 * PAGE);
        obj.getPagesSgt();
        step();
        freeCleanly(obj);
        Invariants.assertEmpty(device);
        assertThat(obj.isFreed()).isTrue();

        assertFailsWithoutChange(obj, Errno.ENOENT, obj::free);
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::getPages);
        assertFailsWithoutChange(obj, Errno.ENOENT, () -> obj.getPages(OwnerKind.PAGES_HEAP_CHUNKS));
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::pin);
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::vmap);
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::export);
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::getSgTable);
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::getPagesSgt);
        assertFailsWithoutChange(obj, Errno.ENOENT, () -> obj.madvise(Madv.DONTNEED));
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::purge);
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::evict);
        assertFailsWithoutChange(obj, Errno.ENOENT, () -> obj.read(0, new byte[1]));
        assertFailsWithoutChange(obj, Errno.ENOENT, () -> obj.write(0, new byte[1]));
        Invariants.assertEmpty(device);
    }

    @Test
    void cpuAccessToAFreedPurgedObjectIsENOENT() {
        device(64, 0);
        ShmemObject obj = device.createObject(4 * PAGE);
        obj.madvise(Madv.DONTNEED);
        obj.getPagesSgt();
        obj.purge();
        step();
        freeCleanly(obj);
        Invariants.assertEmpty(device);
        // The object is gone: ENOENT, like every other operation, not the EFAULT of a live purged object.
        assertFailsWithoutChange(obj, Errno.ENOENT, () -> obj.read(0, new byte[1]));
        assertFailsWithoutChange(obj, Errno.ENOENT, () -> obj.write(0, new byte[1]));
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::pin);
        assertFailsWithoutChange(obj, Errno.ENOENT, () -> obj.madvise(Madv.WILLNEED));
        Invariants.assertEmpty(device);
    }

    @Test
    void operationsOnAFreedObjectWithLeakedOwnersAreENOENT() {
        device(64, 0);
        ShmemObject obj = device.createObject(4 * PAGE);
        Pin leaked = obj.pin();
        step();
        LeakReport report = LeakWarnings.freeLeaking(obj);
        assertThat(report.isEmpty()).isFalse();
        // The fast paths (counts already above zero) must see the free too.
        assertErrno(Errno.ENOENT, obj::pin);
        assertErrno(Errno.ENOENT, obj::getPages);
        assertErrno(Errno.ENOENT, obj::vmap);
        assertErrno(Errno.ENOENT, obj::free);
        assertThat(obj.pinCount()).isEqualTo(1);
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        leaked.close();
        Invariants.assertEmpty(device);
    }

    @Test
    void freeWithALivePageUseReportsTheLeakUntilItIsClosed() {
        device(64, 0);
        ShmemObject obj = device.createObject("leaky", 4 * PAGE);
        obj.getPagesSgt();
        PagesRef ref = obj.getPages();
        step();

        LeakReport report = LeakWarnings.freeLeaking(obj);
        assertThat(report.isEmpty()).isFalse();
        assertThat(report.object()).isEqualTo("leaky");
        assertThat(report.counts()).containsExactly(java.util.Map.entry(OwnerKind.PAGES_HANDLE, 1));
        assertThat(report.transitions()).as("SIMPLE records no transitions").isEmpty();
        assertThat(report.toString()).contains("leaky").contains("PAGES_HANDLE");
        assertThat(obj.isFreed()).isTrue();

        // The checker sees the leak, and the device still knows the object.
        List<Violation> v = InvariantChecker.check(device);
        assertThat(v).extracting(Violation::rule).containsOnly("freed-holds-nothing");
        assertThat(v).extracting(Violation::subject).containsOnly("leaky");
        assertThat(device.objects()).containsExactly(obj);
        assertThat(device.pool().usedPages()).as("the leaked use keeps the pages").isEqualTo(4);
        assertThat(obj.leakReport().counts()).containsExactly(java.util.Map.entry(OwnerKind.PAGES_HANDLE, 1));

        ref.close();
        Invariants.assertEmpty(device);
        assertThat(obj.leakReport().isEmpty()).isTrue();
    }

    @Test
    void freeWithOtherLiveOwnersNamesThemAll() {
        device(64, 0);
        ShmemObject obj = device.createObject("shared", 4 * PAGE);
        VMap map = obj.vmap();
        Export export = obj.export();
        step();
        LeakReport report = LeakWarnings.freeLeaking(obj);
        assertThat(report.counts()).containsEntry(OwnerKind.VMAP_HANDLE, 1).containsEntry(OwnerKind.EXPORT_HANDLE, 1)
                .doesNotContainKey(OwnerKind.PAGES_HANDLE);
        assertThat(InvariantChecker.check(device)).extracting(Violation::rule).containsOnly("freed-holds-nothing");
        map.close();
        assertThat(InvariantChecker.check(device)).extracting(Violation::rule).containsOnly("freed-holds-nothing");
        assertThat(device.objects()).containsExactly(obj);
        export.close();
        Invariants.assertEmpty(device);
    }

    @Test
    void freeWithALivePageUseUnderParanoidLeakDetectionShowsWhereItWasAcquired() {
        device = GemDevice.builder().ramPages(64).leakDetection(LeakDetection.PARANOID).build();
        step();
        ShmemObject obj = device.createObject("traced", 4 * PAGE);
        PagesRef ref = obj.getPages();
        step();
        assertThat(ref.acquiredAt()).isPresent();
        assertThat(obj.inspect().trackedOwners()).isEqualTo(1);

        LeakReport report = LeakWarnings.freeLeaking(obj);
        assertThat(report.counts()).containsExactly(java.util.Map.entry(OwnerKind.PAGES_HANDLE, 1));
        assertThat(report.transitions()).extracting(RefTransition::owner).containsExactly(OwnerKind.PAGES_HANDLE);
        String text = report.toString();
        assertThat(text).contains("traced").contains("PAGES_HANDLE")
                .contains("freeWithALivePageUseUnderParanoidLeakDetectionShowsWhereItWasAcquired")
                .contains("ShmemObjectTest.java:");
        assertThat(InvariantChecker.check(device)).extracting(Violation::rule).containsOnly("freed-holds-nothing");

        ref.close();
        Invariants.assertEmpty(device);
    }

    @Test
    void simpleLeakDetectionRecordsNoStacks() {
        device(64, 0);
        ShmemObject obj = device.createObject(PAGE);
        PagesRef ref = obj.getPages();
        assertThat(ref.acquiredAt()).isEmpty();
        assertThat(obj.inspect().trackedOwners()).isEqualTo(-1);
        ref.close();
        step();
        freeCleanly(obj);
    }

    // ================================================================== evict and swap-in

    enum SwapInTrigger {
        PIN(o -> o.pin().close()),
        VMAP(o -> o.vmap().close()),
        GET_PAGES(o -> o.getPages().close()),
        GET_PAGES_SGT(ShmemObject::getPagesSgt),
        READ(o -> o.read(0, new byte[1]));

        final Consumer<ShmemObject> action;

        SwapInTrigger(Consumer<ShmemObject> action) {
            this.action = action;
        }
    }

    @ParameterizedTest
    @EnumSource(SwapInTrigger.class)
    void evictWritesToSwapAndTheNextUserSwapsBackIn(SwapInTrigger trigger) {
        device(64, 64);
        ShmemObject obj = device.createObject(8 * PAGE);
        obj.getPagesSgt();
        byte[] data = pattern(8 * PAGE, 4);
        obj.write(0, data);
        step();
        assertThat(obj.madv()).isEqualTo(Madv.WILLNEED);
        assertThat(obj.isEvictable()).isTrue();
        int use = obj.pagesUseCount();

        int freed = obj.evict();
        step();
        assertThat(freed).isEqualTo(8);
        assertThat(obj.isResident()).isFalse();
        assertThat(obj.isEvicted()).isTrue();
        assertThat(obj.hasSgt()).as("no table while evicted").isFalse();
        assertThat(obj.inspect().sgtStored()).as("but the table's use stays").isTrue();
        assertThat(obj.pagesUseCount()).as("eviction keeps the uses").isEqualTo(use);
        assertThat(obj.residentPages()).isZero();
        assertThat(obj.swappedPages()).isEqualTo(8);
        assertThat(device.pool().usedPages()).as("pool pages freed").isZero();
        assertThat(device.swap().usedPages()).as("swap used").isEqualTo(8);
        assertThat(obj.isEvictable()).isFalse();
        assertErrno(Errno.EINVAL, obj::getSgTable);
        step();

        trigger.action.accept(obj);
        step();
        assertThat(obj.isResident()).isTrue();
        assertThat(obj.isEvicted()).isFalse();
        assertThat(obj.hasSgt()).isTrue();
        assertThat(obj.pagesUseCount()).isEqualTo(use);
        assertThat(device.swap().usedPages()).as("swap slots released").isZero();
        assertThat(device.pool().usedPages()).isEqualTo(8);
        assertThat(readAll(obj)).as("contents after swap-in").isEqualTo(data);
        step();

        // And again: evict, swap in, still identical.
        obj.evict();
        step();
        Pin pin = obj.pin();
        step();
        assertThat(snapshotPinned(obj)).isEqualTo(data);
        pin.close();
        step();
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void evictWithAPageUseHeldByACallerKeepsItCounted() {
        device(64, 64);
        ShmemObject obj = device.createObject(4 * PAGE);
        obj.getPagesSgt();
        PagesRef use = obj.getPages();
        byte[] data = pattern(4 * PAGE, 5);
        obj.write(0, data);
        step();
        obj.evict();
        step();
        assertThat(obj.pagesUseCount()).isEqualTo(2);
        use.close();
        step();
        assertThat(obj.isEvicted()).as("dropping one of two uses leaves it evicted").isTrue();
        assertThat(readAll(obj)).isEqualTo(data);
        step();
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void freeOfAnEvictedObjectReleasesItsSwap() {
        device(64, 64);
        ShmemObject obj = device.createObject(4 * PAGE);
        obj.getPagesSgt();
        obj.evict();
        step();
        assertThat(device.swap().usedPages()).isEqualTo(4);
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void evictWhenSwapIsFullFailsAndLeavesTheObjectIntact() {
        device(64, 4);
        ShmemObject obj = device.createObject(8 * PAGE);
        obj.getPagesSgt();
        byte[] data = pattern(8 * PAGE, 6);
        obj.write(0, data);
        step();
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::evict);
        assertThat(obj.isResident()).isTrue();
        assertThat(obj.isEvicted()).isFalse();
        assertThat(device.swap().usedPages()).isZero();
        assertThat(readAll(obj)).isEqualTo(data);
        step();

        // A store with no room at all (the default: no swap).
        GemDevice noSwap = GemDevice.builder().ramPages(8).leakDetection(LeakDetection.SIMPLE).build();
        ShmemObject o2 = noSwap.createObject(PAGE);
        o2.getPagesSgt();
        Invariants.assertClean(noSwap);
        assertErrno(Errno.ENOMEM, o2::evict);
        Invariants.assertClean(noSwap);
        assertThat(o2.isResident()).isTrue();
        o2.free();
        Invariants.assertEmpty(noSwap);

        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void evictOfAnObjectThatIsNotEvictableIsBusy() {
        device(64, 64);
        ShmemObject obj = device.createObject(4 * PAGE);
        step();
        // No pages, no sgt.
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        // Pages held by a caller but no stored sgt.
        PagesRef use = obj.getPages();
        step();
        assertThat(obj.isEvictable()).isFalse();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        use.close();
        obj.getPagesSgt();
        step();
        assertThat(obj.isEvictable()).isTrue();

        // Pinned.
        Pin pin = obj.pin();
        step();
        assertThat(obj.isEvictable()).isFalse();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        pin.close();
        step();

        // Mapped.
        VMap map = obj.vmap();
        step();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        map.close();
        step();

        // DONTNEED (it would be purged, never evicted).
        obj.madvise(Madv.DONTNEED);
        step();
        assertThat(obj.isEvictable()).isFalse();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        obj.madvise(Madv.WILLNEED);
        step();

        // Exported.
        Export export = obj.export();
        step();
        assertThat(obj.isEvictable()).isFalse();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        export.close();
        step();

        // Already evicted.
        obj.evict();
        step();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        assertThat(device.swap().usedPages()).isEqualTo(4);

        // Purged.
        obj.madvise(Madv.DONTNEED);
        obj.purge();
        step();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void purgeOfAnEvictedDontneedObjectFreesItsSwapSlots() {
        device(64, 64);
        ShmemObject obj = device.createObject(8 * PAGE);
        obj.getPagesSgt();
        obj.write(0, pattern(8 * PAGE, 7));
        obj.evict();
        step();
        assertThat(device.swap().usedPages()).isEqualTo(8);
        assertThat(obj.madvise(Madv.DONTNEED)).isTrue();
        step();
        assertThat(obj.isEvicted()).as("madvise does not swap in").isTrue();
        assertThat(obj.isPurgeable()).isTrue();

        int freed = obj.purge();
        step();
        assertThat(freed).as("no resident pages to free").isZero();
        assertThat(device.swap().usedPages()).as("swap slots freed").isZero();
        assertThat(device.pool().usedPages()).isZero();
        assertThat(obj.madv()).isEqualTo(Madv.PURGED);
        assertThat(obj.isEvicted()).isFalse();
        assertThat(obj.pagesUseCount()).isZero();
        assertErrno(Errno.ENOMEM, obj::pin);
        assertErrno(Errno.EFAULT, () -> obj.read(0, new byte[1]));
        step();
        freeCleanly(obj);
        Invariants.assertEmpty(device);
    }

    @Test
    void swapInWhenThePoolIsExhaustedFailsAndKeepsTheSwapCopy() {
        device(8, 64);
        ShmemObject obj = device.createObject(4 * PAGE);
        obj.getPagesSgt();
        byte[] data = pattern(4 * PAGE, 8);
        obj.write(0, data);
        obj.evict();
        step();
        ShmemObject hog = device.createObject(6 * PAGE);
        PagesRef hogPages = hog.getPages();
        step();
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::pin);
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::getPagesSgt);
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::getPages);
        assertFailsWithoutChange(obj, Errno.ENOMEM, () -> obj.read(0, new byte[1]));
        assertThat(obj.isEvicted()).isTrue();
        assertThat(device.swap().usedPages()).isEqualTo(4);

        hogPages.close();
        step();
        Pin pin = obj.pin();
        step();
        assertThat(snapshotPinned(obj)).isEqualTo(data);
        pin.close();
        step();
        freeCleanly(obj);
        freeCleanly(hog);
        Invariants.assertEmpty(device);
    }

    // ================================================================== memory exhaustion, failing calls

    @Test
    void enomemWhenThePoolIsExhaustedIsAllOrNothing() {
        device(8, 0);
        ShmemObject a = device.createObject(5 * PAGE);
        a.getPagesSgt();
        step();
        ShmemObject b = device.createObject(4 * PAGE);
        step();
        assertFailsWithoutChange(b, Errno.ENOMEM, b::getPages);
        assertFailsWithoutChange(b, Errno.ENOMEM, b::pin);
        assertFailsWithoutChange(b, Errno.ENOMEM, b::vmap);
        assertFailsWithoutChange(b, Errno.ENOMEM, b::getPagesSgt);
        assertFailsWithoutChange(b, Errno.ENOMEM, () -> b.read(0, new byte[1]));
        assertThat(device.pool().usedPages()).isEqualTo(5);
        assertThat(device.pool().freePages()).isEqualTo(3);

        // Larger than the whole pool.
        ShmemObject huge = device.createObject(9 * PAGE);
        assertFailsWithoutChange(huge, Errno.ENOMEM, huge::getPagesSgt);

        freeCleanly(a);
        b.getPagesSgt();
        step();
        assertThat(device.pool().usedPages()).isEqualTo(4);
        freeCleanly(b);
        freeCleanly(huge);
        Invariants.assertEmpty(device);
    }

    @Test
    void aFailingCallChangesNoState() {
        device(16, 6);
        ShmemObject obj = device.createObject(4 * PAGE);
        step();
        // Fresh object.
        assertFailsWithoutChange(obj, Errno.EINVAL, obj::getSgTable);
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::purge);
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.madvise(Madv.PURGED));
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.getPages(OwnerKind.PIN_HANDLE));
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.getPages(OwnerKind.PAGES_PIN));

        // Pinned, with a stored table and data.
        obj.getPagesSgt();
        Pin pin = obj.pin();
        obj.write(0, pattern(4 * PAGE, 9));
        step();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        obj.madvise(Madv.DONTNEED);
        step();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::purge);
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.read(4 * PAGE, new byte[1]));
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.write(-4, new byte[8]));
        assertFailsWithoutChange(obj, Errno.EINVAL, () -> obj.madvise(null));
        PagesRef ref = obj.getPages();
        ref.close();
        step();
        assertFailsWithoutChange(obj, Errno.EINVAL, ref::close);
        pin.close();
        obj.madvise(Madv.WILLNEED);
        step();

        // Swap full: another object's eviction leaves too little room for this one.
        ShmemObject other = device.createObject(4 * PAGE);
        other.getPagesSgt();
        other.evict();
        step();
        assertThat(device.swap().hasRoom(4)).isFalse();
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::evict);
        freeCleanly(other);

        // Evicted.
        obj.evict();
        step();
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::evict);
        assertFailsWithoutChange(obj, Errno.EINVAL, obj::getSgTable);
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::purge);

        // Purged.
        obj.madvise(Madv.DONTNEED);
        obj.purge();
        step();
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::getPages);
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::pin);
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::vmap);
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::getPagesSgt);
        assertFailsWithoutChange(obj, Errno.ENOMEM, obj::export);
        assertFailsWithoutChange(obj, Errno.EFAULT, () -> obj.write(0, new byte[1]));
        assertFailsWithoutChange(obj, Errno.EBUSY, obj::purge);

        // Freed.
        freeCleanly(obj);
        assertFailsWithoutChange(obj, Errno.ENOENT, obj::free);
        Invariants.assertEmpty(device);
    }

    @Nested
    class ObjectsShareNothing {
        @Test
        void twoObjectsNeverShareFrames() {
            device(32, 32);
            ShmemObject a = device.createObject(8 * PAGE);
            ShmemObject b = device.createObject(8 * PAGE);
            a.getPagesSgt();
            b.getPagesSgt();
            byte[] da = pattern(8 * PAGE, 10);
            byte[] db = pattern(8 * PAGE, 11);
            a.write(0, da);
            b.write(0, db);
            step();
            a.evict();
            step();
            b.evict();
            step();
            assertThat(device.swap().usedPages()).isEqualTo(16);
            assertThat(readAll(b)).isEqualTo(db);
            step();
            assertThat(readAll(a)).isEqualTo(da);
            step();
            freeCleanly(a);
            freeCleanly(b);
            Invariants.assertEmpty(device);
        }
    }
}
