package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.testing.Invariants;
import java.util.Arrays;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The semantics of the kernel's KUnit suite {@code drivers/gpu/drm/tests/drm_gem_shmem_test.c} (suite
 * {@code drm_gem_shmem}), carried over to {@link ShmemObject}: create, pin_pages, vmap, get_sg_table, get_pages_sgt,
 * madvise and purge. Each kernel case is one test here, extended with the model's own checks (errno on misuse,
 * counts as owners, memory accounting). The invariant checker runs after every step.
 *
 * <p>Note: in the kernel file the bodies of {@code test_get_pages_sgt} and {@code test_get_sg_table} are swapped
 * relative to their names; here each test exercises the function it is named after.
 */
class ShmemObjectKunitTest {
    /** The kernel suite's TEST_SIZE (SZ_1M). */
    private static final int TEST_SIZE = 1 << 20;
    /** The kernel suite's TEST_BYTE. */
    private static final byte TEST_BYTE = (byte) 0xae;
    private static final int TEST_PAGES = TEST_SIZE / PagePool.PAGE_SIZE;

    private GemDevice device;

    @BeforeEach
    void setUp() {
        device = GemDevice.builder().ramPages(4 * TEST_PAGES).leakDetection(LeakDetection.SIMPLE).build();
        step();
    }

    @AfterEach
    void tearDown() {
        device.close();
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
        Invariants.assertEmpty(device);
    }

    /** Every page index appears in exactly one segment, the segments are in order, and they match the frames. */
    private static void assertCoversAllPages(ScatterList sgt, ShmemObject obj) {
        int[] pfns = obj.inspect().pfns();
        assertThat(pfns).as("page array").isNotNull().hasSize(obj.pageCount());
        assertThat(sgt.pages()).as("pages described").isEqualTo(obj.pageCount());
        int next = 0;
        for (ScatterList.Segment s : sgt.segments()) {
            assertThat(s.pageIndex()).as("segment start").isEqualTo(next);
            assertThat(s.count()).as("segment length").isPositive();
            for (int k = 0; k < s.count(); k++) {
                assertThat(pfns[s.pageIndex() + k]).as("frame of page %d", s.pageIndex() + k)
                        .isEqualTo(s.firstPfn() + k);
            }
            next += s.count();
        }
        assertThat(next).as("pages covered by the segments").isEqualTo(obj.pageCount());
        long bytes = sgt.segments().stream().mapToLong(s -> (long) s.count() * PagePool.PAGE_SIZE).sum();
        assertThat(bytes).as("table length (kernel: len >= TEST_SIZE)").isGreaterThanOrEqualTo(obj.size());
    }

    // ------------------------------------------------------------------ drm_gem_shmem_test_obj_create

    @Test
    void objCreate() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        step();
        assertThat(obj.size()).isEqualTo(TEST_SIZE);
        assertThat(obj.pageCount()).isEqualTo(TEST_PAGES);
        assertThat(obj.device()).isSameAs(device);
        assertThat(device.objects()).containsExactly(obj);
        assertThat(obj.madv()).isEqualTo(Madv.WILLNEED);
        assertThat(obj.isFreed()).isFalse();
        freeCleanly(obj);
        assertThat(obj.isFreed()).isTrue();
    }

    @Test
    void objCreateRoundsSizeUpToWholePages() {
        long[][] cases = {{1, 4096}, {4095, 4096}, {4096, 4096}, {4097, 8192}, {TEST_SIZE - 1, TEST_SIZE},
            {TEST_SIZE + 1, TEST_SIZE + 4096}};
        for (long[] c : cases) {
            ShmemObject obj = device.createObject(c[0]);
            step();
            assertThat(obj.size()).as("size of an object of %d bytes", c[0]).isEqualTo(c[1]);
            assertThat(obj.pageCount()).as("pages of an object of %d bytes", c[0]).isEqualTo((int) (c[1] / 4096));
            assertThat(obj.size() % PagePool.PAGE_SIZE).isZero();
            freeCleanly(obj);
        }
    }

    @Test
    void objCreateRejectsInvalidSizes() {
        assertErrno(Errno.EINVAL, () -> device.createObject(0));
        step();
        assertErrno(Errno.EINVAL, () -> device.createObject(-1));
        step();
        assertErrno(Errno.EINVAL, () -> device.createObject(Long.MIN_VALUE));
        step();
        // More pages than an int can count.
        assertErrno(Errno.EINVAL, () -> device.createObject(((long) Integer.MAX_VALUE + 1) * PagePool.PAGE_SIZE));
        step();
        assertErrno(Errno.EINVAL, () -> device.createObject("named", 0));
        step();
        Invariants.assertEmpty(device);
    }

    @Test
    void objCreateHasNoPagesUntilUsed() {
        ShmemObject obj = device.createObject("lazy", TEST_SIZE);
        step();
        assertThat(obj.name()).isEqualTo("lazy");
        ObjectState s = obj.inspect();
        assertThat(s.pfns()).as("page array").isNull();
        assertThat(s.pagesUse()).isZero();
        assertThat(s.pinCount()).isZero();
        assertThat(s.vmapCount()).isZero();
        assertThat(s.residentPages()).isZero();
        assertThat(s.swappedPages()).isZero();
        assertThat(s.sgtStored()).isFalse();
        assertThat(obj.isResident()).isFalse();
        assertThat(obj.hasSgt()).isFalse();
        assertThat(device.pool().usedPages()).as("pool pages in use").isZero();
        freeCleanly(obj);
    }

    // ------------------------------------------------------------------ drm_gem_shmem_test_pin_pages

    @Test
    void pinPages() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        step();
        assertThat(obj.isResident()).isFalse();
        assertThat(obj.pagesUseCount()).isZero();

        Pin pin = obj.pin();
        step();
        assertThat(obj.isResident()).isTrue();
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        assertThat(obj.pinCount()).isEqualTo(1);
        int[] pfns = obj.inspect().pfns();
        assertThat(pfns).hasSize(TEST_PAGES);
        for (int i = 0; i < pfns.length; i++) {
            assertThat(pfns[i]).as("frame of page %d", i).isGreaterThanOrEqualTo(0);
        }
        assertThat(Arrays.stream(pfns).distinct().count()).as("distinct frames").isEqualTo(TEST_PAGES);
        assertThat(obj.residentPages()).isEqualTo(TEST_PAGES);
        assertThat(device.pool().usedPages()).isEqualTo(TEST_PAGES);
        assertThat(pin.kind()).isEqualTo(OwnerKind.PIN_HANDLE);
        assertThat(pin.object()).isSameAs(obj);
        assertThat(pin.isLive()).isTrue();

        pin.close();
        step();
        assertThat(pin.isLive()).isFalse();
        assertThat(obj.isResident()).isFalse();
        assertThat(obj.inspect().pfns()).isNull();
        assertThat(obj.pagesUseCount()).isZero();
        assertThat(obj.pinCount()).isZero();
        assertThat(device.pool().usedPages()).isZero();
        freeCleanly(obj);
    }

    @Test
    void pinPagesCountsPinsAndTheLastUnpinReleases() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        Pin a = obj.pin();
        step();
        int[] pfns = obj.inspect().pfns();
        Pin b = obj.pin();
        step();
        assertThat(obj.pinCount()).isEqualTo(2);
        assertThat(obj.pagesUseCount()).as("all pins together hold one use").isEqualTo(1);
        assertThat(obj.inspect().pfns()).as("a second pin keeps the same pages").isEqualTo(pfns);
        assertThat(device.pool().usedPages()).isEqualTo(TEST_PAGES);

        a.close();
        step();
        assertThat(obj.pinCount()).isEqualTo(1);
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        assertThat(obj.inspect().pfns()).isEqualTo(pfns);

        b.close();
        step();
        assertThat(obj.pinCount()).isZero();
        assertThat(obj.pagesUseCount()).isZero();
        assertThat(obj.isResident()).isFalse();
        assertThat(device.pool().usedPages()).isZero();
        freeCleanly(obj);
    }

    @Test
    void pinPagesUnderACallersPageUseKeepsThePagesAfterUnpin() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        PagesRef use = obj.getPages();
        step();
        int[] pfns = obj.inspect().pfns();
        Pin pin = obj.pin();
        step();
        assertThat(obj.pagesUseCount()).isEqualTo(2);
        assertThat(obj.inspect().pfns()).isEqualTo(pfns);
        pin.close();
        step();
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        assertThat(obj.inspect().pfns()).as("the caller's use still holds the pages").isEqualTo(pfns);
        use.close();
        step();
        assertThat(obj.isResident()).isFalse();
        freeCleanly(obj);
    }

    // ------------------------------------------------------------------ drm_gem_shmem_test_vmap

    @Test
    void vmap() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        step();
        assertThat(obj.vmapCount()).isZero();

        VMap map = obj.vmap();
        step();
        assertThat(obj.vmapCount()).isEqualTo(1);
        assertThat(obj.pinCount()).as("a mapping holds a pin").isEqualTo(1);
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        assertThat(obj.isResident()).isTrue();
        assertThat(map.size()).isEqualTo(TEST_SIZE);
        assertThat(map.kind()).isEqualTo(OwnerKind.VMAP_HANDLE);

        map.fill(0, TEST_SIZE, TEST_BYTE);
        step();
        for (int i = 0; i < TEST_SIZE; i++) {
            byte b = map.get(i);
            if (b != TEST_BYTE) {
                assertThat(b).as("byte %d", i).isEqualTo(TEST_BYTE);
            }
        }
        byte[] all = new byte[TEST_SIZE];
        map.read(0, all, 0, TEST_SIZE);
        byte[] expected = new byte[TEST_SIZE];
        Arrays.fill(expected, TEST_BYTE);
        assertThat(all).as("bulk read of the whole object").isEqualTo(expected);
        step();

        map.close();
        step();
        assertThat(obj.vmapCount()).isZero();
        assertThat(obj.pinCount()).isZero();
        assertThat(obj.pagesUseCount()).isZero();
        assertThat(obj.isResident()).isFalse();
        assertThat(device.pool().usedPages()).isZero();
        assertErrno(Errno.EINVAL, () -> map.get(0));
        step();
        freeCleanly(obj);
    }

    @Test
    void vmapNestsAndSharesOnePin() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        VMap a = obj.vmap();
        step();
        VMap b = obj.vmap();
        step();
        assertThat(obj.vmapCount()).isEqualTo(2);
        assertThat(obj.pinCount()).isEqualTo(1);
        a.put(TEST_SIZE - 1, TEST_BYTE);
        assertThat(b.get(TEST_SIZE - 1)).as("both mappings see the same bytes").isEqualTo(TEST_BYTE);
        assertErrno(Errno.EINVAL, () -> a.get(TEST_SIZE));
        assertErrno(Errno.EINVAL, () -> a.get(-1));
        step();
        a.close();
        step();
        assertThat(obj.vmapCount()).isEqualTo(1);
        assertThat(obj.isResident()).isTrue();
        assertThat(b.get(TEST_SIZE - 1)).isEqualTo(TEST_BYTE);
        b.close();
        step();
        assertThat(obj.vmapCount()).isZero();
        assertThat(obj.pinCount()).isZero();
        assertThat(obj.isResident()).isFalse();
        freeCleanly(obj);
    }

    // ------------------------------------------------------------------ drm_gem_shmem_test_get_sg_table

    @Test
    void getSgTableRequiresPages() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        step();
        assertErrno(Errno.EINVAL, obj::getSgTable);
        step();
        assertThat(obj.isResident()).as("get_sg_table allocates nothing").isFalse();
        assertThat(obj.pagesUseCount()).isZero();
        freeCleanly(obj);
    }

    @Test
    void getSgTable() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        Pin pin = obj.pin();
        step();
        ObjectState before = obj.inspect();

        ScatterList sgt = obj.getSgTable();
        step();
        assertCoversAllPages(sgt, obj);

        ObjectState after = obj.inspect();
        assertThat(after.sgtStored()).as("get_sg_table stores nothing (kernel: shmem->sgt == NULL)").isFalse();
        assertThat(obj.hasSgt()).isFalse();
        assertThat(after.pagesUse()).as("takes no page use").isEqualTo(before.pagesUse()).isEqualTo(1);
        assertThat(after.pinCount()).as("takes no pin").isEqualTo(before.pinCount()).isEqualTo(1);
        assertThat(after.vmapCount()).isEqualTo(before.vmapCount());
        assertThat(after.tally()).as("owners").isEqualTo(before.tally());
        assertThat(after.pfns()).isEqualTo(before.pfns());

        ScatterList again = obj.getSgTable();
        step();
        assertThat(again).as("a second table describes the same pages").isEqualTo(sgt);
        assertThat(obj.pagesUseCount()).isEqualTo(1);

        pin.close();
        step();
        assertThat(obj.isResident()).as("the table kept nothing alive").isFalse();
        assertErrno(Errno.EINVAL, obj::getSgTable);
        step();
        freeCleanly(obj);
    }

    // ------------------------------------------------------------------ drm_gem_shmem_test_get_pages_sgt

    @Test
    void getPagesSgt() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        step();

        ScatterList sgt = obj.getPagesSgt();
        step();
        assertThat(obj.isResident()).isTrue();
        assertThat(obj.pagesUseCount()).as("the stored table owns exactly one use").isEqualTo(1);
        assertThat(obj.pinCount()).isZero();
        ObjectState s = obj.inspect();
        assertThat(s.sgtStored()).isTrue();
        assertThat(s.owners(OwnerKind.PAGES_SGT)).isEqualTo(1);
        assertThat(s.owners(RefKind.PAGES)).isEqualTo(1);
        assertThat(obj.hasSgt()).isTrue();
        assertCoversAllPages(sgt, obj);

        ScatterList again = obj.getPagesSgt();
        step();
        assertThat(again).as("the stored table: same pages").isEqualTo(sgt);
        assertThat(obj.pagesUseCount()).as("a second call takes nothing").isEqualTo(1);
        assertThat(obj.inspect().owners(OwnerKind.PAGES_SGT)).isEqualTo(1);
        assertThat(device.pool().usedPages()).isEqualTo(TEST_PAGES);

        // Other holders come and go; the table's use keeps the pages.
        Pin pin = obj.pin();
        step();
        assertThat(obj.pagesUseCount()).isEqualTo(2);
        pin.close();
        step();
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        assertThat(obj.getPagesSgt()).isEqualTo(sgt);
        step();

        // free() releases the table's use and then the pages.
        freeCleanly(obj);
        assertThat(obj.pagesUseCount()).isZero();
        assertThat(obj.isResident()).isFalse();
    }

    @Test
    void getPagesSgtUseCannotBeClosedByCallers() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        obj.getPagesSgt();
        step();
        // The only way to use PAGES_SGT from outside is to ask for it: refused, nothing taken.
        assertErrno(Errno.EINVAL, () -> obj.getPages(OwnerKind.PAGES_SGT));
        step();
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        freeCleanly(obj);
    }

    // ------------------------------------------------------------------ drm_gem_shmem_test_madvise

    @Test
    void madvise() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        step();
        assertThat(obj.madv()).isEqualTo(Madv.WILLNEED);
        assertThat(obj.madv().value()).isZero();

        assertThat(obj.madvise(Madv.DONTNEED)).as("retained").isTrue();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.DONTNEED);
        assertThat(obj.madv().value()).isEqualTo(1);
        assertThat(obj.madvise(Madv.DONTNEED)).as("DONTNEED twice is idempotent").isTrue();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.DONTNEED);

        assertThat(obj.madvise(Madv.WILLNEED)).isTrue();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.WILLNEED);
        assertThat(obj.madvise(Madv.WILLNEED)).as("WILLNEED twice is idempotent").isTrue();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.WILLNEED);

        // madvise(-1): in this model only purge() makes an object PURGED; asking for it is EINVAL.
        assertErrno(Errno.EINVAL, () -> obj.madvise(Madv.PURGED));
        assertErrno(Errno.EINVAL, () -> obj.madvise(null));
        step();
        assertThat(obj.madv()).isEqualTo(Madv.WILLNEED);

        assertThat(obj.madvise(Madv.DONTNEED)).isTrue();
        obj.getPagesSgt();
        step();
        obj.purge();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.PURGED);
        assertThat(obj.madv().value()).isEqualTo(-1);

        // Sticky: madv cannot be set back to a positive value.
        assertThat(obj.madvise(Madv.WILLNEED)).as("retained after purge").isFalse();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.PURGED);
        assertThat(obj.madvise(Madv.DONTNEED)).isFalse();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.PURGED);
        freeCleanly(obj);
    }

    @Test
    void madviseDoesNotTouchPages() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        obj.getPagesSgt();
        step();
        int[] pfns = obj.inspect().pfns();
        assertThat(obj.madvise(Madv.DONTNEED)).isTrue();
        step();
        assertThat(obj.inspect().pfns()).isEqualTo(pfns);
        assertThat(obj.pagesUseCount()).isEqualTo(1);
        assertThat(obj.madvise(Madv.WILLNEED)).isTrue();
        step();
        assertThat(obj.inspect().pfns()).isEqualTo(pfns);
        freeCleanly(obj);
    }

    // ------------------------------------------------------------------ drm_gem_shmem_test_purge

    @Test
    void purge() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        step();
        assertThat(obj.isPurgeable()).as("a new object").isFalse();

        assertThat(obj.madvise(Madv.DONTNEED)).isTrue();
        step();
        assertThat(obj.isPurgeable()).as("DONTNEED without pages or sgt").isFalse();

        ScatterList sgt = obj.getPagesSgt();
        step();
        assertThat(sgt.pages()).isEqualTo(TEST_PAGES);
        assertThat(obj.isPurgeable()).isTrue();

        int freed = obj.purge();
        step();
        assertThat(freed).as("pages freed").isEqualTo(TEST_PAGES);
        ObjectState s = obj.inspect();
        assertThat(s.pfns()).as("kernel: shmem->pages == NULL").isNull();
        assertThat(s.sgtStored()).as("kernel: shmem->sgt == NULL").isFalse();
        assertThat(s.madv()).isEqualTo(Madv.PURGED);
        assertThat(s.pagesUse()).isZero();
        assertThat(obj.isResident()).isFalse();
        assertThat(obj.hasSgt()).isFalse();
        assertThat(obj.isPurgeable()).isFalse();
        assertThat(device.pool().usedPages()).isZero();

        freeCleanly(obj);
    }

    @Test
    void purgeOnlyWhenPurgeable() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        step();
        assertErrno(Errno.EBUSY, obj::purge);
        step();

        // WILLNEED with an sgt: not purgeable.
        obj.getPagesSgt();
        step();
        assertThat(obj.isPurgeable()).isFalse();
        assertErrno(Errno.EBUSY, obj::purge);
        step();

        obj.madvise(Madv.DONTNEED);
        step();
        assertThat(obj.isPurgeable()).isTrue();

        // Pinned: not purgeable.
        Pin pin = obj.pin();
        step();
        assertThat(obj.isPurgeable()).isFalse();
        assertErrno(Errno.EBUSY, obj::purge);
        step();
        pin.close();
        step();

        // Mapped (a mapping pins): not purgeable.
        VMap map = obj.vmap();
        step();
        assertThat(obj.isPurgeable()).isFalse();
        assertErrno(Errno.EBUSY, obj::purge);
        step();
        map.close();
        step();

        // Shared with another device: not purgeable.
        Export export = obj.export();
        step();
        assertThat(obj.isPurgeable()).isFalse();
        assertErrno(Errno.EBUSY, obj::purge);
        step();
        export.close();
        step();

        assertThat(obj.isPurgeable()).isTrue();
        assertThat(obj.madv()).isEqualTo(Madv.DONTNEED);
        assertThat(obj.isResident()).as("failed purges kept the pages").isTrue();
        obj.purge();
        step();
        assertThat(obj.madv()).isEqualTo(Madv.PURGED);
        assertErrno(Errno.EBUSY, obj::purge);
        step();
        freeCleanly(obj);
    }

    @Test
    void purgedObjectRefusesPages() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        obj.madvise(Madv.DONTNEED);
        obj.getPagesSgt();
        obj.purge();
        step();

        assertErrno(Errno.ENOMEM, obj::getPages);
        step();
        assertErrno(Errno.ENOMEM, obj::getPagesSgt);
        step();
        assertErrno(Errno.ENOMEM, obj::pin);
        step();
        assertErrno(Errno.ENOMEM, obj::vmap);
        step();
        assertErrno(Errno.EINVAL, obj::getSgTable);
        step();
        assertThat(obj.pagesUseCount()).isZero();
        assertThat(obj.isResident()).isFalse();
        assertThat(device.pool().usedPages()).isZero();
        freeCleanly(obj);
    }

    @Test
    void purgeWithAnotherPageUseLeavesTheUseCountedButNoPages() {
        ShmemObject obj = device.createObject(TEST_SIZE);
        obj.madvise(Madv.DONTNEED);
        obj.getPagesSgt();
        PagesRef use = obj.getPages();
        step();
        assertThat(obj.pagesUseCount()).isEqualTo(2);

        obj.purge();
        step();
        assertThat(obj.pagesUseCount()).as("the caller's use is still counted").isEqualTo(1);
        assertThat(obj.isResident()).as("but its pages are gone").isFalse();
        assertThat(device.pool().usedPages()).isZero();

        use.close();
        step();
        assertThat(obj.pagesUseCount()).isZero();
        freeCleanly(obj);
    }
}
