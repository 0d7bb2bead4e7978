package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_2M;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_4G;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.assertErrno;
import static dev.gemshrink.panfrost.PanfrostTesting.await;
import static dev.gemshrink.panfrost.PanfrostTesting.frames;
import static dev.gemshrink.panfrost.PanfrostTesting.gpuRead;
import static dev.gemshrink.panfrost.PanfrostTesting.gpuWrite;
import static dev.gemshrink.panfrost.PanfrostTesting.pattern;
import static dev.gemshrink.panfrost.PanfrostTesting.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.core.OwnerKind;
import dev.gemshrink.memory.SwapStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Conformance of the Panfrost-like driver with docs/kernel-model.md sections 5 and 6: creation rules, the VA allocator,
 * heap BOs, the madvise/retained table, submission rules, zeroed pages, GPU faults, busy BOs, eviction and remapping,
 * and mapping lifetimes. The invariant checker (the driver's and the core's) runs after every meaningful step.
 */
@Timeout(60)
class PanfrostConformanceTest {
    private static final int NOEXEC = BoFlags.NOEXEC;
    private static final int HEAP = BoFlags.HEAP | BoFlags.NOEXEC;

    private static PanfrostDevice device(int ramPages) {
        return PanfrostDevice.builder().name("conf").ramPages(ramPages).build();
    }

    private static PanfrostDevice deviceWithSwap(int ramPages, long swapPages) {
        return PanfrostDevice.builder().name("conf").ramPages(ramPages).swap(SwapStore.inMemory(swapPages)).build();
    }

    // ------------------------------------------------------------------ creation

    @Nested
    class Creation {
        @Test
        void badSizesFlagsAndHeapWithoutNoexecAreEinvalAndCreateNothing() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient c = dev.openClient("c");
                assertErrno(Errno.EINVAL, () -> c.createBo("zero", 0, NOEXEC));
                assertErrno(Errno.EINVAL, () -> c.createBo("negative", -4096, NOEXEC));
                assertErrno(Errno.EINVAL, () -> c.createBo("negative-heap", -1, HEAP));
                assertErrno(Errno.EINVAL, () -> c.createBo("unknown", 4096, 4));
                assertErrno(Errno.EINVAL, () -> c.createBo("unknown-high", 4096, NOEXEC | 0x100));
                assertErrno(Errno.EINVAL, () -> c.createBo("heap-exec", 4096, BoFlags.HEAP));
                assertThat(dev.bos()).isEmpty();
                assertThat(c.bos()).isEmpty();
                assertThat(c.addressSpace().mappings()).isEmpty();
                assertEmpty(dev);
                c.close();
            }
        }

        @Test
        void sizesRoundUpToPagesAndHeapsTo2MiB() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient c = dev.openClient("c");
                assertThat(c.createBo("one", 1, NOEXEC).size()).isEqualTo(PAGE);
                assertThat(c.createBo("page", PAGE, NOEXEC).size()).isEqualTo(PAGE);
                assertThat(c.createBo("page+1", PAGE + 1, 0).size()).isEqualTo(2 * PAGE);
                assertThat(c.createBo("heap-1", 1, HEAP).size()).isEqualTo(SZ_2M);
                assertThat(c.createBo("heap-2M", SZ_2M, HEAP).size()).isEqualTo(SZ_2M);
                assertThat(c.createBo("heap-2M+1", SZ_2M + 1, HEAP).size()).isEqualTo(2 * SZ_2M);
                assertThat(c.createBo("heap-odd", 3 * SZ_2M - PAGE, HEAP).size()).isEqualTo(3 * SZ_2M);
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void normalBoIsResidentAfterCreateWithTheSgtsUseAndMapped() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient c = dev.openClient("c");
                PanfrostBo bo = c.createBo("normal", 5 * PAGE, NOEXEC);
                ObjectState s = bo.shmem().inspect();
                assertThat(s.pagesUse()).as("pages_use").isEqualTo(1);
                assertThat(s.owners(OwnerKind.PAGES_SGT)).as("the sg table's use").isEqualTo(1);
                assertThat(s.sgtStored()).isTrue();
                assertThat(bo.shmem().hasSgt()).isTrue();
                assertThat(s.pinCount()).isZero();
                assertThat(s.residentPages()).isEqualTo(5);
                assertThat(dev.gem().pool().usedPages()).isEqualTo(5);
                assertThat(bo.shmem().madv()).isEqualTo(Madv.WILLNEED);
                assertThat(bo.refs()).isEqualTo(1);
                GpuMapping m = c.mapping(bo);
                assertThat(m.refs()).isEqualTo(1);
                assertThat(m.ptes()).as("every GPU page maps the BO's frame").containsExactly(s.pfns());
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void heapBoHasNoPagesUntilItsFirstFault() {
            try (PanfrostDevice dev = device(1024)) {
                PanfrostClient c = dev.openClient("c");
                PanfrostBo heap = c.createBo("heap", 3 * SZ_2M, HEAP);
                ObjectState s = heap.shmem().inspect();
                assertThat(heap.isHeap()).isTrue();
                assertThat(s.pagesUse()).as("pages_use").isZero();
                assertThat(s.pfns()).as("page array").isNull();
                assertThat(s.sgtStored()).isFalse();
                assertThat(heap.heapChunks()).isZero();
                assertThat(dev.gem().pool().usedPages()).isZero();
                assertThat(c.mapping(heap).ptes()).containsOnly(-1);
                assertClean(dev);

                assertThat(c.fault(heap, SZ_2M + 123)).as("first fault populates a chunk").isTrue();
                s = heap.shmem().inspect();
                assertThat(s.pagesUse()).isEqualTo(1);
                assertThat(s.owners(OwnerKind.PAGES_HEAP_CHUNKS)).isEqualTo(1);
                assertThat(s.pfns()).isNotNull();
                assertThat(s.residentPages()).isEqualTo(512);
                assertThat(heap.heapChunks()).isEqualTo(1);
                int[] ptes = c.mapping(heap).ptes();
                for (int i = 0; i < ptes.length; i++) {
                    boolean inChunk = i >= 512 && i < 1024;
                    assertThat(ptes[i] >= 0).as("pte %d mapped", i).isEqualTo(inChunk);
                    if (inChunk) {
                        assertThat(ptes[i]).isEqualTo(s.pfns()[i]);
                    }
                }
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }
    }

    // ------------------------------------------------------------------ VA allocator

    @Nested
    class VaAllocator {
        @Test
        void vasAre4KiBAlignedInRangeAndDisjoint() {
            try (PanfrostDevice dev = device(4096)) {
                PanfrostClient c = dev.openClient("c");
                long[] sizes = {1, PAGE, 3 * PAGE, 5 * PAGE + 7, 17 * PAGE, 64 * PAGE, 100 * PAGE};
                int n = 0;
                for (long size : sizes) {
                    c.createBo("noexec" + n++, size, NOEXEC);
                    c.createBo("exec" + n++, size, 0);
                }
                c.createBo("heap", SZ_2M, HEAP);
                c.createBo("after-heap", PAGE, NOEXEC);
                assertDisjoint(c.addressSpace());
                for (GpuMapping m : c.addressSpace().mappings()) {
                    assertThat(m.va() % PAGE).as("%s is page aligned", m).isZero();
                    assertThat(m.va()).isGreaterThanOrEqualTo(GpuAddressSpace.VA_START);
                    assertThat(m.va() + m.size()).isLessThanOrEqualTo(GpuAddressSpace.VA_END);
                }
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void noexecBosAreNotForcedToAnyAlignmentBeyond4KiB() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient c = dev.openClient("c");
                PanfrostBo a = c.createBo("a", PAGE, NOEXEC);
                PanfrostBo b = c.createBo("b", 3 * PAGE, NOEXEC);
                PanfrostBo d = c.createBo("d", PAGE, NOEXEC);
                assertThat(c.mapping(a).va()).isEqualTo(GpuAddressSpace.VA_START);
                assertThat(c.mapping(b).va()).isEqualTo(GpuAddressSpace.VA_START + PAGE);
                assertThat(c.mapping(d).va()).isEqualTo(GpuAddressSpace.VA_START + 4 * PAGE);
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void execBosAreAlignedToTheirSizeRoundedToAPowerOfTwo() {
            try (PanfrostDevice dev = device(4096)) {
                PanfrostClient c = dev.openClient("c");
                // A 1-page NOEXEC BO first, so that the allocator has to skip ahead for every aligned one.
                c.createBo("pad", PAGE, NOEXEC);
                long[] sizes = {PAGE, 3 * PAGE, 4 * PAGE, 5 * PAGE, 48 * PAGE, 64 * PAGE, 65 * PAGE, 200 * PAGE};
                List<PanfrostBo> execs = new ArrayList<>();
                for (long size : sizes) {
                    execs.add(c.createBo("exec-" + size / PAGE, size, 0));
                    c.createBo("pad-after-" + size / PAGE, PAGE, NOEXEC);
                }
                for (PanfrostBo bo : execs) {
                    long align = Long.highestOneBit(bo.size());
                    if (align != bo.size()) {
                        align <<= 1;
                    }
                    assertThat(c.mapping(bo).va() % align).as("%s aligned to %d", bo, align).isZero();
                }
                assertDisjoint(c.addressSpace());
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void heapBosAre2MiBAligned() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient c = dev.openClient("c");
                List<PanfrostBo> heaps = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    c.createBo("pad" + i, PAGE, NOEXEC);
                    heaps.add(c.createBo("heap" + i, (i + 1) * SZ_2M, HEAP));
                }
                for (PanfrostBo h : heaps) {
                    assertThat(c.mapping(h).va() % SZ_2M).as("%s", c.mapping(h)).isZero();
                }
                assertDisjoint(c.addressSpace());
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void noexecBosNeverCrossA4GiBBoundary() {
            try (PanfrostDevice dev = device(16 * 1024)) {
                PanfrostClient c = dev.openClient("c");
                // Heap BOs reserve VA without pages: use them to get within 30 MiB of the first 4 GiB boundary
                // (VA starts at 32 MiB; 7 x 504 MiB + 506 MiB end at 4066 MiB).
                for (int i = 0; i < 7; i++) {
                    c.createBo("filler" + i, 252 * SZ_2M, HEAP);
                }
                c.createBo("filler7", 253 * SZ_2M, HEAP);
                long end = c.addressSpace().mappings().stream().mapToLong(m -> m.va() + m.size()).max()
                        .orElseThrow();
                assertThat(end).as("fillers end 30 MiB below the boundary").isEqualTo(SZ_4G - 30L * (1 << 20));
                // Then many small NOEXEC BOs of 1.5 MiB: 20 fill the gap exactly (the 20th ends at the boundary),
                // the 21st must start at 4 GiB rather than cross it.
                List<PanfrostBo> small = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    small.add(c.createBo("s" + i, 384L * PAGE, NOEXEC));
                }
                assertThat(small).filteredOn(bo -> c.mapping(bo).va() < SZ_4G).as("below the boundary").hasSize(20);
                assertThat(c.mapping(small.get(19)).va() + small.get(19).size()).isEqualTo(SZ_4G);
                for (GpuMapping m : c.addressSpace().mappings()) {
                    long first = m.va();
                    long last = m.va() + m.size() - 1;
                    assertThat(first / SZ_4G).as("%s does not cross a 4 GiB boundary", m).isEqualTo(last / SZ_4G);
                }
                // The first one past the boundary starts exactly at it.
                long firstAbove = small.stream().mapToLong(bo -> c.mapping(bo).va()).filter(va -> va >= SZ_4G)
                        .min().orElseThrow();
                assertThat(firstAbove).isEqualTo(SZ_4G);
                assertDisjoint(c.addressSpace());
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void eachClientHasItsOwnAddressSpaceAndOpeningMapsTheBoThere() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient a = dev.openClient("a");
                PanfrostClient b = dev.openClient("b");
                assertThat(a.addressSpace()).isNotSameAs(b.addressSpace());
                PanfrostBo inA = a.createBo("in-a", 4 * PAGE, NOEXEC);
                PanfrostBo inB = b.createBo("in-b", 4 * PAGE, NOEXEC);
                // Both address spaces start empty, so both BOs get the first VA, each in its own space.
                assertThat(a.mapping(inA).va()).isEqualTo(GpuAddressSpace.VA_START);
                assertThat(b.mapping(inB).va()).isEqualTo(GpuAddressSpace.VA_START);
                assertThat(a.addressSpace().mappings()).extracting(GpuMapping::bo).containsExactly(inA);
                assertThat(b.addressSpace().mappings()).extracting(GpuMapping::bo).containsExactly(inB);
                assertErrno(Errno.ENOENT, () -> a.mapping(inB));

                GpuMapping shared = b.open(inA);
                assertThat(shared.addressSpace()).isSameAs(b.addressSpace());
                assertThat(shared.va()).isNotEqualTo(b.mapping(inB).va());
                assertThat(inA.refs()).isEqualTo(2);
                assertThat(inA.mappings()).hasSize(2);
                assertThat(shared.ptes()).containsExactly(a.mapping(inA).ptes());
                assertThat(inA.shmem().pagesUseCount()).as("the sg table's use only").isEqualTo(1);
                assertErrno(Errno.EINVAL, () -> b.open(inA));
                assertDisjoint(b.addressSpace());
                assertClean(dev);

                // Data written by one client's GPU job is seen by the other's.
                byte[] data = pattern(11, 4 * PAGE);
                gpuWrite(a, inA, data);
                assertThat(gpuRead(b, inA)).isEqualTo(data);
                assertClean(dev);

                a.close();
                assertThat(dev.bos()).containsExactlyInAnyOrder(inA, inB);
                assertThat(inA.refs()).isEqualTo(1);
                assertThat(gpuRead(b, inA)).isEqualTo(data);
                assertClean(dev);
                b.close();
                assertEmpty(dev);
            }
        }
    }

    // ------------------------------------------------------------------ heap BOs and the CPU

    @Test
    void heapBosCannotBePinnedMappedOrAccessedByTheCpu() {
        try (PanfrostDevice dev = device(1024)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo heap = c.createBo("heap", SZ_2M, HEAP);
            for (boolean faulted : new boolean[] {false, true}) {
                if (faulted) {
                    c.fault(heap, 0);
                }
                int use = heap.shmem().pagesUseCount();
                assertErrno(Errno.EINVAL, heap::pin);
                assertErrno(Errno.EINVAL, heap::vmap);
                assertErrno(Errno.EINVAL, heap::getPages);
                assertErrno(Errno.EINVAL, heap::getPagesSgt);
                assertErrno(Errno.EINVAL, () -> heap.read(0, new byte[16]));
                assertErrno(Errno.EINVAL, () -> heap.write(0, new byte[16]));
                assertThat(heap.shmem().pinCount()).isZero();
                assertThat(heap.shmem().vmapCount()).isZero();
                assertThat(heap.shmem().pagesUseCount()).isEqualTo(use);
                assertClean(dev);
            }
            c.close();
            assertEmpty(dev);
        }
    }

    // ------------------------------------------------------------------ madvise

    @Nested
    class Madvise {
        @Test
        void retainedTableForANormalBo() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient c = dev.openClient("c");
                PanfrostBo bo = c.createBo("bo", 8 * PAGE, NOEXEC);
                assertThat(c.madvise(bo, Madv.WILLNEED)).isTrue();
                assertThat(c.madvise(bo, Madv.WILLNEED)).isTrue();
                assertThat(bo.shmem().madv()).isEqualTo(Madv.WILLNEED);
                assertClean(dev);
                assertThat(c.madvise(bo, Madv.DONTNEED)).isTrue();
                assertThat(bo.shmem().madv()).isEqualTo(Madv.DONTNEED);
                assertThat(c.madvise(bo, Madv.DONTNEED)).isTrue();
                assertThat(bo.shmem().madv()).isEqualTo(Madv.DONTNEED);
                assertThat(bo.shmem().isResident()).as("DONTNEED alone frees nothing").isTrue();
                assertClean(dev);
                assertThat(c.madvise(bo, Madv.WILLNEED)).isTrue();
                assertThat(c.madvise(bo, Madv.DONTNEED)).isTrue();
                assertClean(dev);

                assertThat(bo.purge()).isEqualTo(8);
                assertThat(bo.shmem().madv()).isEqualTo(Madv.PURGED);
                assertThat(dev.gem().pool().usedPages()).isZero();
                assertClean(dev);
                assertThat(c.madvise(bo, Madv.WILLNEED)).as("retained after purge").isFalse();
                assertThat(bo.shmem().madv()).as("purged is sticky").isEqualTo(Madv.PURGED);
                assertThat(c.madvise(bo, Madv.DONTNEED)).isFalse();
                assertThat(c.madvise(bo, Madv.WILLNEED)).isFalse();
                assertThat(bo.shmem().madv()).isEqualTo(Madv.PURGED);
                assertErrno(Errno.EFAULT, () -> bo.read(0, new byte[16]));
                assertErrno(Errno.EFAULT, () -> bo.write(0, new byte[16]));
                assertErrno(Errno.ENOMEM, bo::pin);
                assertThat(c.mapping(bo).ptes()).containsOnly(-1);
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void purgeByTheShrinkerMakesRetainedFalse() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient c = dev.openClient("c");
                PanfrostBo keep = c.createBo("keep", 4 * PAGE, NOEXEC);
                PanfrostBo drop = c.createBo("drop", 4 * PAGE, NOEXEC);
                gpuWrite(c, keep, pattern(1, 4 * PAGE));
                assertThat(c.madvise(drop, Madv.DONTNEED)).isTrue();
                assertThat(dev.gem().shrinker().scan(1000)).as("pages purged").isEqualTo(4);
                assertThat(drop.shmem().madv()).isEqualTo(Madv.PURGED);
                assertThat(keep.shmem().madv()).as("no swap: WILLNEED stays").isEqualTo(Madv.WILLNEED);
                assertThat(keep.shmem().isResident()).isTrue();
                assertClean(dev);
                assertThat(c.madvise(drop, Madv.WILLNEED)).isFalse();
                assertThat(gpuRead(c, keep)).isEqualTo(pattern(1, 4 * PAGE));
                c.close(drop);
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void heapBosAlwaysReportRetainedAndStayWillneed() {
            try (PanfrostDevice dev = deviceWithSwap(2048, 4096)) {
                PanfrostClient c = dev.openClient("c");
                PanfrostBo heap = c.createBo("heap", 2 * SZ_2M, HEAP);
                assertThat(c.madvise(heap, Madv.DONTNEED)).isTrue();
                assertThat(heap.shmem().madv()).isEqualTo(Madv.WILLNEED);
                c.fault(heap, 0);
                assertThat(c.madvise(heap, Madv.DONTNEED)).isTrue();
                assertThat(c.madvise(heap, Madv.DONTNEED)).isTrue();
                assertThat(heap.shmem().madv()).isEqualTo(Madv.WILLNEED);
                assertThat(c.madvise(heap, Madv.WILLNEED)).isTrue();
                assertClean(dev);
                // Never purged or evicted: not by the shrinker, not on request.
                assertThat(dev.gem().shrinker().scan(10_000)).isZero();
                assertErrno(Errno.EBUSY, heap::purge);
                assertErrno(Errno.EBUSY, heap::evict);
                assertThat(heap.shmem().residentPages()).isEqualTo(512);
                assertThat(heap.shmem().madv()).isEqualTo(Madv.WILLNEED);
                assertClean(dev);
                // A second client sharing the heap BO does not change that either.
                PanfrostClient other = dev.openClient("other");
                other.open(heap);
                assertThat(other.madvise(heap, Madv.DONTNEED)).isTrue();
                assertThat(heap.shmem().madv()).isEqualTo(Madv.WILLNEED);
                assertClean(dev);
                other.close();
                c.close();
                assertEmpty(dev);
            }
        }

        @Test
        void dontneedOnABoOpenInAnotherClientIsEinval() {
            try (PanfrostDevice dev = device(256)) {
                PanfrostClient a = dev.openClient("a");
                PanfrostClient b = dev.openClient("b");
                PanfrostBo bo = a.createBo("shared", 4 * PAGE, NOEXEC);
                b.open(bo);
                assertErrno(Errno.EINVAL, () -> a.madvise(bo, Madv.DONTNEED));
                assertErrno(Errno.EINVAL, () -> b.madvise(bo, Madv.DONTNEED));
                assertThat(bo.shmem().madv()).isEqualTo(Madv.WILLNEED);
                assertThat(a.madvise(bo, Madv.WILLNEED)).isTrue();
                assertThat(b.madvise(bo, Madv.WILLNEED)).isTrue();
                assertClean(dev);
                // A client that has not opened the BO cannot madvise it at all.
                PanfrostClient stranger = dev.openClient("stranger");
                assertErrno(Errno.ENOENT, () -> stranger.madvise(bo, Madv.WILLNEED));
                // Once only one client has it, DONTNEED works for that client.
                b.close(bo);
                assertThat(a.madvise(bo, Madv.DONTNEED)).isTrue();
                assertThat(bo.shmem().madv()).isEqualTo(Madv.DONTNEED);
                assertClean(dev);
                // And opening it elsewhere now keeps it DONTNEED; a further DONTNEED from either is refused.
                b.open(bo);
                assertErrno(Errno.EINVAL, () -> a.madvise(bo, Madv.DONTNEED));
                assertClean(dev);
                stranger.close();
                b.close();
                a.close();
                assertEmpty(dev);
            }
        }

        @Test
        void dontneedBoThatWasNotPurgedKeepsItsContents() {
            try (PanfrostDevice dev = deviceWithSwap(64, 1024)) {
                PanfrostClient c = dev.openClient("c");
                PanfrostBo bo = c.createBo("bo", 16 * PAGE, NOEXEC);
                byte[] data = pattern(42, 16 * PAGE);
                gpuWrite(c, bo, data);
                assertThat(c.madvise(bo, Madv.DONTNEED)).isTrue();
                assertClean(dev);
                assertThat(c.madvise(bo, Madv.WILLNEED)).isTrue();
                assertThat(gpuRead(c, bo)).isEqualTo(data);
                byte[] cpu = new byte[16 * PAGE];
                bo.read(0, cpu);
                assertThat(cpu).isEqualTo(data);
                assertClean(dev);
                // The same after an eviction to swap while WILLNEED, a DONTNEED round trip, and a reload.
                assertThat(bo.evict()).isEqualTo(16);
                assertThat(c.madvise(bo, Madv.DONTNEED)).isTrue();
                assertClean(dev);
                assertThat(c.madvise(bo, Madv.WILLNEED)).isTrue();
                assertThat(gpuRead(c, bo)).isEqualTo(data);
                assertClean(dev);
                c.close();
                assertEmpty(dev);
            }
        }
    }

    // ------------------------------------------------------------------ submission

    @Test
    void purgedOrDontneedBoIsRefusedAtSubmitAndNothingIsAttached() {
        try (PanfrostDevice dev = device(256)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo good = c.createBo("good", 4 * PAGE, NOEXEC);
            PanfrostBo bad = c.createBo("bad", 4 * PAGE, NOEXEC);
            assertThat(c.madvise(bad, Madv.DONTNEED)).isTrue();
            long submitted = dev.stats().jobsSubmitted();

            assertErrno(Errno.ENOMEM, () -> c.submit("dontneed", List.of(good, bad), GpuWork.NONE, true));
            assertErrno(Errno.ENOMEM, () -> c.submit("dontneed-first", List.of(bad, good), GpuWork.NONE, false));
            assertNothingAttached(dev, c, good, bad, submitted);

            bad.purge();
            assertThat(bad.shmem().madv()).isEqualTo(Madv.PURGED);
            assertErrno(Errno.ENOMEM, () -> c.submit("purged", List.of(good, bad), GpuWork.NONE, true));
            assertErrno(Errno.ENOMEM, () -> c.submit("purged-alone", List.of(bad), GpuWork.NONE, false));
            assertThat(c.madvise(bad, Madv.WILLNEED)).isFalse();
            assertErrno(Errno.ENOMEM, () -> c.submit("purged-willneed", List.of(bad), GpuWork.NONE, false));
            assertNothingAttached(dev, c, good, bad, submitted);

            // The locks were all released: a good job still runs, and the purged BO frees cleanly.
            assertThat(run(c, List.of(good), GpuWork.NONE).status()).isEqualTo(Job.Status.DONE);
            c.close(bad);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    private static void assertNothingAttached(PanfrostDevice dev, PanfrostClient c, PanfrostBo good, PanfrostBo bad,
            long submitted) {
        assertThat(dev.stats().jobsSubmitted()).as("nothing queued").isEqualTo(submitted);
        for (PanfrostBo bo : List.of(good, bad)) {
            assertThat(bo.isBusy()).as("%s busy", bo).isFalse();
            assertThat(c.mapping(bo).refs()).as("%s mapping refs", bo).isEqualTo(1);
            assertThat(bo.refs()).isEqualTo(1);
            assertThat(bo.shmem().resv().isLocked()).as("%s resv released", bo).isFalse();
        }
        assertClean(dev);
    }

    @Test
    void newBoReadsZerosAfterAnotherClientFilledAndFreedOne() {
        try (PanfrostDevice dev = device(16)) {
            PanfrostClient a = dev.openClient("a");
            PanfrostBo filled = a.createBo("filled", 16 * PAGE, NOEXEC);
            byte[] ones = new byte[16 * PAGE];
            Arrays.fill(ones, (byte) 0xA5);
            gpuWrite(a, filled, ones);
            filled.write(0, pattern(3, 2 * PAGE));
            List<Integer> oldFrames = frames(filled);
            a.close(filled);
            assertEmpty(dev);

            PanfrostClient b = dev.openClient("b");
            PanfrostBo fresh = b.createBo("fresh", 16 * PAGE, NOEXEC);
            assertThat(frames(fresh)).as("tiny RAM: the frames are reused")
                    .containsExactlyInAnyOrderElementsOf(oldFrames);
            assertThat(gpuRead(b, fresh)).containsOnly((byte) 0);
            byte[] cpu = new byte[16 * PAGE];
            fresh.read(0, cpu);
            assertThat(cpu).containsOnly((byte) 0);
            assertClean(dev);
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }

    @Test
    void jobFaultingOutsideEveryMappingFailsAndTheNextJobStillRuns() {
        try (PanfrostDevice dev = device(256)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("bo", 4 * PAGE, NOEXEC);
            long va = c.mapping(bo).va();
            byte[] data = pattern(5, 4 * PAGE);
            Job bad = run(c, List.of(bo), ctx -> {
                ctx.write(va, data);
                ctx.read(0x1000, new byte[4]); // below VA_START: no mapping
            });
            assertThat(bad.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(bad.error()).get().isInstanceOf(GpuFaultException.class)
                    .extracting(GemException::errno).isEqualTo(Errno.EFAULT);
            assertThat(bad.fence().isSignalled()).isTrue();
            assertThat(bo.isBusy()).isFalse();
            assertThat(c.mapping(bo).refs()).as("the job's mapping reference is dropped").isEqualTo(1);
            assertClean(dev);

            // Just past the end of the BO is outside every mapping too (the gap before any other BO).
            Job past = run(c, List.of(bo), ctx -> ctx.write(va + bo.size(), new byte[1]));
            assertThat(past.status()).isEqualTo(Job.Status.FAULTED);
            // A job that straddles the end of the BO faults on the part outside.
            Job straddle = run(c, List.of(bo), ctx -> ctx.read(va + bo.size() - 2, new byte[4]));
            assertThat(straddle.status()).isEqualTo(Job.Status.FAULTED);

            Job next = run(c, List.of(bo), ctx -> {
                byte[] got = new byte[data.length];
                ctx.read(va, got);
                if (!Arrays.equals(got, data)) {
                    throw new IllegalStateException("data lost");
                }
            });
            assertThat(next.status()).as("%s", next.error()).isEqualTo(Job.Status.DONE);
            assertThat(dev.stats().jobsFaulted()).isEqualTo(3);
            assertThat(dev.stats().jobsDone()).isEqualTo(1);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    // ------------------------------------------------------------------ busy BOs

    @Test
    void busyBoIsNeverPurgedOrEvictedUntilItsJobCompletes() throws Exception {
        try (PanfrostDevice dev = deviceWithSwap(256, 1024)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo will = c.createBo("willneed", 8 * PAGE, NOEXEC);
            PanfrostBo dont = c.createBo("dontneed", 8 * PAGE, NOEXEC);
            byte[] data = pattern(9, 8 * PAGE);
            gpuWrite(c, will, data);
            long va = c.mapping(will).va();
            byte[] seen = new byte[8 * PAGE];
            Job held = c.submit("held", List.of(will, dont), ctx -> ctx.read(va, seen), true);
            // The work runs, but the fence waits for complete().
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (held.status() != Job.Status.DONE && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(held.status()).isEqualTo(Job.Status.DONE);
            assertThat(held.fence().isSignalled()).isFalse();
            assertThat(c.madvise(dont, Madv.DONTNEED)).as("madvise of a busy BO is allowed").isTrue();
            assertThat(will.isBusy()).isTrue();
            assertThat(dont.isBusy()).isTrue();
            assertClean(dev);

            assertThat(dev.gem().shrinker().scan(10_000)).as("nothing reclaimable while busy").isZero();
            assertErrno(Errno.EBUSY, dont::purge);
            assertErrno(Errno.EBUSY, will::evict);
            assertThat(dev.gem().shrinker().stats().purged()).isZero();
            assertThat(dev.gem().shrinker().stats().evicted()).isZero();
            assertThat(will.shmem().isResident()).isTrue();
            assertThat(dont.shmem().isResident()).isTrue();
            assertThat(dont.shmem().madv()).isEqualTo(Madv.DONTNEED);
            assertThat(c.mapping(will).ptes()).doesNotContain(-1);
            assertThat(c.mapping(dont).ptes()).doesNotContain(-1);
            assertClean(dev);

            held.complete();
            assertThat(held.fence().isSignalled()).isTrue();
            assertThat(seen).isEqualTo(data);
            assertThat(will.isBusy()).isFalse();
            assertThat(dont.isBusy()).isFalse();
            assertClean(dev);
            assertThat(dev.gem().shrinker().scan(10_000)).isEqualTo(16);
            assertThat(dont.shmem().madv()).isEqualTo(Madv.PURGED);
            assertThat(will.shmem().isEvicted()).isTrue();
            assertThat(dev.gem().shrinker().stats().purged()).isEqualTo(8);
            assertThat(dev.gem().shrinker().stats().evicted()).isEqualTo(8);
            assertClean(dev);
            assertThat(gpuRead(c, will)).isEqualTo(data);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void busyBoIsRefusedByDirectPurgeAndEvictThenReclaimableAfterComplete() {
        try (PanfrostDevice dev = deviceWithSwap(256, 1024)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo will = c.createBo("willneed", 4 * PAGE, NOEXEC);
            PanfrostBo dont = c.createBo("dontneed", 4 * PAGE, NOEXEC);
            Job held = c.submit("held", List.of(will, dont), GpuWork.NONE, true);
            c.madvise(dont, Madv.DONTNEED);
            assertErrno(Errno.EBUSY, dont::purge);
            assertErrno(Errno.EBUSY, will::evict);
            assertClean(dev);
            held.complete();
            assertThat(dont.purge()).isEqualTo(4);
            assertThat(will.evict()).isEqualTo(4);
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertThat(dev.gem().swap().usedPages()).isEqualTo(4);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    // ------------------------------------------------------------------ eviction and remapping

    @Test
    void evictTearsDownMappingsInEveryClientAndTheNextSubmitRemapsByteIdentically() {
        try (PanfrostDevice dev = deviceWithSwap(256, 1024)) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo bo = a.createBo("shared", 12 * PAGE, NOEXEC);
            b.open(bo);
            byte[] data = pattern(77, 12 * PAGE);
            gpuWrite(a, bo, data);
            assertClean(dev);

            assertThat(bo.evict()).isEqualTo(12);
            assertThat(bo.shmem().isEvicted()).isTrue();
            assertThat(bo.shmem().isResident()).isFalse();
            assertThat(bo.shmem().pagesUseCount()).as("eviction keeps the use").isEqualTo(1);
            assertThat(a.mapping(bo).ptes()).containsOnly(-1);
            assertThat(b.mapping(bo).ptes()).containsOnly(-1);
            assertThat(a.addressSpace().mappedPages()).isZero();
            assertThat(b.addressSpace().mappedPages()).isZero();
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertThat(dev.gem().swap().usedPages()).isEqualTo(12);
            assertClean(dev);

            // A job that did not declare the BO finds it unmapped: it faults and nothing is swapped in.
            long vaB = b.mapping(bo).va();
            Job undeclared = run(b, List.of(), ctx -> ctx.read(vaB, new byte[4]));
            assertThat(undeclared.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(bo.shmem().isEvicted()).isTrue();
            assertClean(dev);

            // The next submit swaps it in and maps it again, in every client.
            assertThat(gpuRead(b, bo)).isEqualTo(data);
            assertThat(bo.shmem().isEvicted()).isFalse();
            int[] pfns = bo.shmem().inspect().pfns();
            assertThat(a.mapping(bo).ptes()).containsExactly(pfns);
            assertThat(b.mapping(bo).ptes()).containsExactly(pfns);
            assertThat(dev.gem().swap().usedPages()).isZero();
            assertClean(dev);
            assertThat(gpuRead(a, bo)).isEqualTo(data);

            // The shrinker's eviction does the same teardown.
            assertThat(dev.gem().shrinker().scan(12)).isEqualTo(12);
            assertThat(a.mapping(bo).ptes()).containsOnly(-1);
            assertThat(b.mapping(bo).ptes()).containsOnly(-1);
            assertClean(dev);
            assertThat(gpuRead(a, bo)).isEqualTo(data);
            assertClean(dev);

            // Purging tears down every mapping too.
            bo.evict();
            b.close(bo);
            a.madvise(bo, Madv.DONTNEED);
            bo.purge();
            assertThat(a.mapping(bo).ptes()).containsOnly(-1);
            assertThat(dev.gem().swap().usedPages()).isZero();
            assertClean(dev);
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }

    @Test
    void evictedBoOpenedInANewClientIsSwappedInAndMappedThere() {
        try (PanfrostDevice dev = deviceWithSwap(256, 1024)) {
            PanfrostClient a = dev.openClient("a");
            PanfrostBo bo = a.createBo("bo", 6 * PAGE, NOEXEC);
            byte[] data = pattern(8, 6 * PAGE);
            gpuWrite(a, bo, data);
            bo.evict();
            assertClean(dev);
            PanfrostClient b = dev.openClient("b");
            GpuMapping mb = b.open(bo);
            assertThat(bo.shmem().isResident()).isTrue();
            assertThat(mb.ptes()).containsExactly(bo.shmem().inspect().pfns());
            assertClean(dev);
            assertThat(gpuRead(b, bo)).isEqualTo(data);
            assertThat(gpuRead(a, bo)).isEqualTo(data);
            assertClean(dev);
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }

    /**
     * A job may touch a BO mapped in its client that it did not declare (a userspace bug): that BO is not busy and
     * may be evicted or freed meanwhile. The job must then fault, and never write into the frame after it was
     * freed, where a new BO of another client now lives (which must read as zeros). Teardown of a mapping waits for
     * GPU accesses in flight, like the MMU flush.
     */
    @Test
    void aJobTouchingAnUndeclaredBoNeverWritesIntoPagesReusedByAnotherClient() throws Exception {
        byte[] ff = new byte[PAGE];
        Arrays.fill(ff, (byte) 0xFF);
        for (int round = 0; round < 100; round++) {
            try (PanfrostDevice dev = deviceWithSwap(8, 64)) {
                PanfrostClient a = dev.openClient("a");
                PanfrostClient b = dev.openClient("b");
                PanfrostBo victim = a.createBo("undeclared", PAGE, NOEXEC);
                PanfrostBo declared = a.createBo("declared", PAGE, NOEXEC);
                long va = a.mapping(victim).va();
                java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
                Job j = a.submit("rogue", List.of(declared), ctx -> {
                    started.countDown();
                    for (int i = 0; i < 1_000_000; i++) {
                        ctx.write(va, ff); // faults once the BO is unmapped
                    }
                }, false);
                assertThat(started.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
                if (round % 2 == 0) {
                    victim.evict();
                } else {
                    a.close(victim); // freed: its last mapping goes
                }
                // Every free frame, the victim's among them, now belongs to a new BO of another client.
                PanfrostBo fresh = b.createBo("fresh", 7 * PAGE, NOEXEC);
                await(j);
                assertThat(j.status()).as("round %d", round).isEqualTo(Job.Status.FAULTED);
                byte[] got = new byte[7 * PAGE];
                fresh.read(0, got);
                assertThat(got).as("round %d: the new BO reads as zeros", round).containsOnly((byte) 0);
                assertClean(dev);
                a.close();
                b.close();
                assertEmpty(dev);
            }
        }
    }

    // ------------------------------------------------------------------ lifetimes

    @Test
    void closingTheHandleWhileAHeldJobUsesTheBoKeepsItAliveUntilComplete() {
        try (PanfrostDevice dev = deviceWithSwap(256, 1024)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("bo", 8 * PAGE, NOEXEC);
            GpuMapping m = c.mapping(bo);
            long va = m.va();
            byte[] data = pattern(21, 8 * PAGE);
            Job held = c.submit("held", List.of(bo), ctx -> ctx.write(va, data), true);
            assertThat(m.refs()).isEqualTo(2);
            c.close(bo);
            assertThat(c.bos()).doesNotContain(bo);
            assertErrno(Errno.ENOENT, () -> c.mapping(bo));
            assertThat(dev.bos()).contains(bo);
            assertThat(bo.refs()).isEqualTo(1);
            assertThat(m.refs()).isEqualTo(1);
            assertThat(c.addressSpace().mappings()).containsExactly(m);
            assertThat(dev.gem().pool().usedPages()).isEqualTo(8);
            assertThat(bo.shmem().isFreed()).isFalse();
            assertClean(dev);
            // Still busy: the shrinker leaves it alone.
            assertThat(dev.gem().shrinker().scan(100)).isZero();
            assertThat(bo.shmem().isResident()).isTrue();

            held.complete();
            assertThat(held.status()).isEqualTo(Job.Status.DONE);
            assertThat(dev.bos()).doesNotContain(bo);
            assertThat(bo.shmem().isFreed()).isTrue();
            assertThat(m.refs()).isZero();
            assertThat(c.addressSpace().mappings()).isEmpty();
            assertEmpty(dev);
            c.close();
        }
    }

    @Test
    void whenAwaitOrCompleteReturnsTheJobsReferencesAreGoneAndItIsCounted() throws Exception {
        try (PanfrostDevice dev = device(256)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo gate = c.createBo("gate", PAGE, NOEXEC);
            for (int round = 0; round < 200; round++) {
                // Block the GPU so that the job's last step runs on the GPU thread, not on this one.
                java.util.concurrent.CountDownLatch open = new java.util.concurrent.CountDownLatch(1);
                Job blocker = c.submit("blocker", List.of(gate), ctx -> {
                    try {
                        open.await(5, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, false);
                PanfrostBo bo = c.createBo("bo" + round, 4 * PAGE, NOEXEC);
                boolean held = round % 2 == 1;
                Job j = c.submit("job" + round, List.of(bo), GpuWork.NONE, held);
                c.close(bo);
                assertThat(dev.bos()).contains(bo);
                long done = dev.stats().jobsDone();
                if (held) {
                    Thread completer = new Thread(j::complete);
                    completer.setDaemon(true);
                    completer.start();
                    open.countDown();
                    completer.join(5_000);
                    assertThat(completer.isAlive()).isFalse();
                } else {
                    open.countDown();
                }
                await(j);
                assertThat(dev.bos()).as("round %d: freed once the fence signalled", round).containsExactly(gate);
                assertThat(bo.shmem().isFreed()).isTrue();
                assertThat(dev.stats().jobsDone()).as("round %d: counted", round).isGreaterThanOrEqualTo(done + 1);
                assertThat(dev.gem().pool().usedPages()).isEqualTo(1);
                await(blocker);
                assertClean(dev);
            }
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void aFreedBoCannotBeOpenedAgain() {
        try (PanfrostDevice dev = device(1024)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostClient other = dev.openClient("other");
            PanfrostBo heap = c.createBo("heap", SZ_2M, HEAP);
            PanfrostBo normal = c.createBo("normal", PAGE, NOEXEC);
            c.close(heap);
            c.close(normal);
            assertEmpty(dev);
            for (PanfrostBo bo : List.of(heap, normal)) {
                assertErrno(Errno.ENOENT, () -> c.open(bo));
                assertErrno(Errno.ENOENT, () -> other.open(bo));
                assertThat(bo.refs()).isZero();
            }
            assertThat(c.bos()).isEmpty();
            assertThat(other.bos()).isEmpty();
            assertThat(c.addressSpace().mappings()).isEmpty();
            assertThat(other.addressSpace().mappings()).isEmpty();
            assertEmpty(dev);
            c.close();
            other.close();
        }
    }

    @Test
    void openingAPurgedBoElsewhereIsEnomemAndLeavesNothing() {
        try (PanfrostDevice dev = device(256)) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo bo = a.createBo("bo", 4 * PAGE, NOEXEC);
            a.madvise(bo, Madv.DONTNEED);
            bo.purge();
            assertErrno(Errno.ENOMEM, () -> b.open(bo));
            assertThat(b.bos()).isEmpty();
            assertThat(b.addressSpace().mappings()).isEmpty();
            assertThat(bo.refs()).isEqualTo(1);
            assertThat(bo.mappings()).hasSize(1);
            assertClean(dev);
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }

    @Test
    void noVaLeftIsEnomemAndTheNewBoIsFreedAgain() {
        try (PanfrostDevice dev = device(256)) {
            PanfrostClient c = dev.openClient("c");
            // A heap BO as large as the whole VA space reserves no pages but cannot find a VA range.
            assertErrno(Errno.ENOMEM, () -> c.createBo("huge", GpuAddressSpace.VA_END, HEAP));
            assertThat(c.bos()).isEmpty();
            assertThat(c.addressSpace().mappings()).isEmpty();
            assertEmpty(dev);
            c.close();
        }
    }

    @Test
    void submittingABoNotOpenHereIsEnoentAndDuplicatesCountOnce() {
        try (PanfrostDevice dev = device(256)) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo mine = a.createBo("mine", PAGE, NOEXEC);
            PanfrostBo theirs = b.createBo("theirs", PAGE, NOEXEC);
            assertErrno(Errno.ENOENT, () -> a.submit("foreign", List.of(mine, theirs), GpuWork.NONE, false));
            assertThat(mine.isBusy()).isFalse();
            assertThat(theirs.isBusy()).isFalse();
            assertThat(mine.shmem().resv().isLocked()).isFalse();
            assertThat(dev.stats().jobsSubmitted()).isZero();
            // Listing a BO twice locks and references it once.
            Job j = a.submit("dup", List.of(mine, mine), GpuWork.NONE, true);
            assertThat(a.mapping(mine).refs()).isEqualTo(2);
            j.complete();
            assertThat(a.mapping(mine).refs()).isEqualTo(1);
            assertClean(dev);
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }

    @Test
    void aBoSharedByTwoClientsLivesUntilBothHaveClosedIt() {
        try (PanfrostDevice dev = device(256)) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo bo = a.createBo("bo", 4 * PAGE, NOEXEC);
            b.open(bo);
            a.close(bo);
            assertThat(dev.bos()).contains(bo);
            assertThat(bo.mappings()).extracting(GpuMapping::addressSpace).containsExactly(b.addressSpace());
            assertClean(dev);
            // Now only b has it: DONTNEED is allowed for b.
            assertThat(b.madvise(bo, Madv.DONTNEED)).isTrue();
            b.close(bo);
            assertThat(dev.bos()).isEmpty();
            assertErrno(Errno.ENOENT, () -> b.close(bo));
            assertEmpty(dev);
            a.close();
            b.close();
        }
    }

    @Test
    void closingAClientReleasesAllItsHandlesAndLeavesNothing() {
        try (PanfrostDevice dev = deviceWithSwap(1024, 2048)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo normal = c.createBo("n", 4 * PAGE, NOEXEC);
            PanfrostBo exec = c.createBo("x", 4 * PAGE, 0);
            PanfrostBo heap = c.createBo("h", 2 * SZ_2M, HEAP);
            PanfrostBo evicted = c.createBo("e", 4 * PAGE, NOEXEC);
            PanfrostBo purged = c.createBo("p", 4 * PAGE, NOEXEC);
            c.fault(heap, SZ_2M);
            evicted.evict();
            c.madvise(purged, Madv.DONTNEED);
            purged.purge();
            assertThat(dev.clients()).contains(c);
            assertThat(c.bos()).containsExactly(normal, exec, heap, evicted, purged);
            assertClean(dev);
            c.close();
            assertThat(dev.clients()).doesNotContain(c);
            assertEmpty(dev);
        }
    }

    private static void assertDisjoint(GpuAddressSpace as) {
        List<GpuMapping> ms = new ArrayList<>(as.mappings());
        ms.sort(Comparator.comparingLong(GpuMapping::va));
        for (int i = 1; i < ms.size(); i++) {
            GpuMapping prev = ms.get(i - 1);
            assertThat(prev.va() + prev.size()).as("%s ends before %s", prev, ms.get(i))
                    .isLessThanOrEqualTo(ms.get(i).va());
        }
    }
}
