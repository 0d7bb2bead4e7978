package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_2M;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_4G;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.pattern;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Suspicion b: a GPU mapping's page table costs O(pages mapped), not O(BO size). A huge sparse heap BO (4 GiB, one
 * chunk populated) is opened in another client for a few KiB, and its page table grows by one chunk per fault. The
 * allocation is measured on the calling thread ({@code com.sun.management.ThreadMXBean}), which is exact for the
 * driver's own work here (no other thread allocates for it).
 */
@Timeout(60)
class SparsePageTableTest {
    private static final int HEAP = BoFlags.HEAP | BoFlags.NOEXEC;
    private static final long MAPPING_BUDGET = 64 * 1024;

    /** The calling thread's allocated bytes; reflective, as the main module does not read jdk.management. */
    private static long allocatedBytes() {
        try {
            Object bean = ManagementFactory.getThreadMXBean();
            Method m = Class.forName("com.sun.management.ThreadMXBean").getMethod("getThreadAllocatedBytes",
                    long.class);
            return (long) m.invoke(bean, Thread.currentThread().getId());
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("no allocation counter in this JVM", e);
        }
    }

    @Test
    void openingAHugeSparseHeapBoCostsNoPerPageMemory() {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("sparse").ramPages(2048).build()) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo heap = a.createBo("huge-heap", SZ_4G, HEAP);
            a.fault(heap, 1000 * SZ_2M + 5);
            b.open(heap); // warm up the code paths once
            b.close(heap);

            long before = allocatedBytes();
            GpuMapping m = b.open(heap);
            long cost = allocatedBytes() - before;
            assertThat(cost).as("bytes allocated to open a 4 GiB heap BO (%d pages)", heap.shmem().pageCount())
                    .isLessThan(MAPPING_BUDGET);
            assertThat(b.addressSpace().mappedPages()).isZero();
            assertThat(b.addressSpace().pteOf(m, 0)).isEqualTo(-1);
            assertThat(b.addressSpace().pteOf(m, heap.shmem().pageCount() - 1)).isEqualTo(-1);
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }

    @Test
    void faultsMapOneChunkEachAndTheGpuSeesTheRightPages() {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("sparse").ramPages(2048).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo heap = c.createBo("huge-heap", SZ_4G, HEAP);
            GpuMapping m = c.mapping(heap);
            long va = m.va();
            byte[] low = pattern(1, 2 * PAGE);
            byte[] high = pattern(2, PAGE);
            long highOffset = SZ_4G - SZ_2M + 17 * PAGE;
            byte[] lowBack = new byte[low.length];
            byte[] highBack = new byte[high.length];
            Job j = PanfrostTesting.run(c, List.of(heap), ctx -> {
                ctx.write(va + SZ_2M - PAGE, low); // straddles chunks 0 and 1
                ctx.write(va + highOffset, high); // the last chunk
                ctx.read(va + SZ_2M - PAGE, lowBack);
                ctx.read(va + highOffset, highBack);
            });
            assertThat(j.status()).as("%s", j.error()).isEqualTo(Job.Status.DONE);
            assertThat(lowBack).isEqualTo(low);
            assertThat(highBack).isEqualTo(high);
            assertThat(heap.heapChunks()).isEqualTo(3);
            assertThat(c.addressSpace().mappedPages()).isEqualTo(3 * 512);
            int[] pfns = heap.shmem().inspect().pfns();
            int last = heap.shmem().pageCount() - 1;
            assertThat(c.addressSpace().pteOf(m, last)).isEqualTo(pfns[last]);
            assertThat(c.addressSpace().pteOf(m, 512 * 5)).as("an unpopulated chunk").isEqualTo(-1);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }
}
