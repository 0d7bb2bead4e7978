package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_2M;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.assertErrno;
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
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The seed scenario (docs/kernel-model.md section 2) as a regression test: the Panfrost heap-fault handler built the
 * page array by hand and free then skipped the put, leaving {@code pages_use_count != 0} at free (seen under glmark2).
 * Here the chunk table is the visible owner of the heap's page use, so growth by faults inside running jobs, madvise,
 * shrink, job completion and close must leave page use balanced, the invariant checker clean and the pool empty. Also:
 * a heap fault that fails half way leaves nothing allocated or counted.
 */
@Timeout(60)
class HeapFaultSeedTest {
    private static final int HEAP = BoFlags.HEAP | BoFlags.NOEXEC;
    private static final int CHUNK = 512;

    @Test
    void heapGrownByFaultsInRunningJobsThenMadviseShrinkCompleteAndCloseIsBalanced() {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("seed").ramPages(4096)
                .swap(SwapStore.inMemory(4096)).build()) {
            PanfrostClient c = dev.openClient("glmark2");
            PanfrostBo heap = c.createBo("tiler-heap", 8 * SZ_2M, HEAP);
            PanfrostBo vertices = c.createBo("vertices", 64 * PAGE, BoFlags.NOEXEC);
            PanfrostBo scratch = c.createBo("scratch", 32 * PAGE, BoFlags.NOEXEC);
            PanfrostBo shader = c.createBo("shader", 16 * PAGE, 0);
            gpuWrite(c, vertices, pattern(1, 64 * PAGE));
            long hva = c.mapping(heap).va();
            assertThat(heap.shmem().inspect().pfns()).as("no page array before the first fault").isNull();
            assertClean(dev);

            // Job 1 (held, like a frame still in flight) writes at chunks 0, 3, 0 again (already mapped: no fault)
            // and 5, and reads back what it wrote.
            byte[] a = pattern(10, 3 * PAGE);
            byte[] b = pattern(11, PAGE);
            byte[] d = pattern(12, 100);
            long[] offsets = {7 * PAGE + 5, 3 * SZ_2M + 11, 100 * PAGE, 6 * SZ_2M - d.length};
            byte[][] datas = {a, b, a, d};
            byte[][] back = new byte[offsets.length][];
            Job frame1 = c.submit("frame1", List.of(heap, shader), ctx -> {
                for (int i = 0; i < offsets.length; i++) {
                    ctx.write(hva + offsets[i], datas[i]);
                }
                for (int i = 0; i < offsets.length; i++) {
                    back[i] = new byte[datas[i].length];
                    ctx.read(hva + offsets[i], back[i]);
                }
            }, true);
            waitForWork(frame1);
            assertThat(frame1.status()).as("%s", frame1.error()).isEqualTo(Job.Status.DONE);
            for (int i = 0; i < offsets.length; i++) {
                assertThat(back[i]).as("heap bytes at %d", offsets[i]).isEqualTo(datas[i]);
            }
            assertThat(dev.stats().gpuFaults()).as("faults: chunk 0, 3, 5 (the second write to 0 is mapped)")
                    .isEqualTo(3);
            assertThat(dev.stats().heapChunks()).isEqualTo(3);
            assertThat(heap.heapChunks()).isEqualTo(3);
            assertHeapUse(heap, 3);
            assertMappedChunks(c, heap, 0, 3, 5);
            assertClean(dev);

            // Faulting an already mapped chunk from the outside is a no-op too.
            assertThat(c.fault(heap, 3 * SZ_2M + 4096)).isFalse();
            assertThat(dev.stats().heapChunks()).isEqualTo(3);
            assertHeapUse(heap, 3);
            assertClean(dev);

            // madvise: the heap stays WILLNEED (retained), the other BOs become purgeable.
            assertThat(c.madvise(heap, Madv.DONTNEED)).isTrue();
            assertThat(heap.shmem().madv()).isEqualTo(Madv.WILLNEED);
            assertThat(c.madvise(scratch, Madv.DONTNEED)).isTrue();
            assertClean(dev);

            // Job 2 (not held) grows chunk 7 and touches chunk 3 again.
            byte[] e = pattern(13, 2 * PAGE);
            Job frame2 = run(c, List.of(heap, vertices), ctx -> {
                ctx.write(hva + 7 * SZ_2M + 3, e);
                ctx.write(hva + 3 * SZ_2M, b);
            });
            assertThat(frame2.status()).as("%s", frame2.error()).isEqualTo(Job.Status.DONE);
            assertThat(dev.stats().gpuFaults()).isEqualTo(4);
            assertHeapUse(heap, 4);
            assertClean(dev);

            // Shrink while frame1 is still held: scratch is purged; vertices is idle and evicted; the heap and the
            // busy shader stay.
            long freed = dev.gem().shrinker().scan(100_000);
            assertThat(scratch.shmem().madv()).isEqualTo(Madv.PURGED);
            assertThat(vertices.shmem().isEvicted()).isTrue();
            assertThat(shader.shmem().isResident()).as("busy: not evicted").isTrue();
            assertThat(freed).isEqualTo(32 + 64);
            assertHeapUse(heap, 4);
            assertMappedChunks(c, heap, 0, 3, 5, 7);
            assertClean(dev);

            frame1.complete();
            assertThat(heap.isBusy()).isFalse();
            assertClean(dev);
            // Shrink again: the heap is still never touched; the shader is evicted now.
            dev.gem().shrinker().scan(100_000);
            assertThat(shader.shmem().isEvicted()).isTrue();
            assertHeapUse(heap, 4);
            assertClean(dev);

            // The heap's contents survive it all.
            byte[] check = new byte[e.length];
            Job verify = run(c, List.of(heap), ctx -> ctx.read(hva + 7 * SZ_2M + 3, check));
            assertThat(verify.status()).isEqualTo(Job.Status.DONE);
            assertThat(check).isEqualTo(e);
            assertThat(gpuRead(c, vertices)).isEqualTo(pattern(1, 64 * PAGE));
            assertClean(dev);

            // Close: the chunk table's use is released with it, and nothing leaks.
            c.close(heap);
            assertThat(dev.gem().objects()).doesNotContain(heap.shmem());
            assertThat(heap.shmem().isFreed()).isTrue();
            assertThat(heap.shmem().pagesUseCount()).as("pages_use at free").isZero();
            assertThat(heap.shmem().leakReport().isEmpty()).isTrue();
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void closingAHeapWhileAJobThatGrewItIsHeldFreesItAtComplete() {
        try (PanfrostDevice dev = PanfrostDevice.builder().ramPages(2048).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo heap = c.createBo("heap", 4 * SZ_2M, HEAP);
            long hva = c.mapping(heap).va();
            Job held = c.submit("held", List.of(heap), ctx -> {
                ctx.write(hva, new byte[] {1});
                ctx.write(hva + 2 * SZ_2M, new byte[] {2});
            }, true);
            waitForWork(held);
            c.close(heap);
            assertThat(dev.bos()).contains(heap);
            assertHeapUse(heap, 2);
            assertClean(dev);
            held.complete();
            assertThat(dev.bos()).isEmpty();
            assertThat(heap.shmem().isFreed()).isTrue();
            assertEmpty(dev);
            c.close();
        }
    }

    @Test
    void heapSharedByTwoClientsIsMappedWhereItFaults() {
        try (PanfrostDevice dev = PanfrostDevice.builder().ramPages(2048).build()) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo heap = a.createBo("heap", 2 * SZ_2M, HEAP);
            b.open(heap);
            assertThat(a.fault(heap, 0)).isTrue();
            assertMappedChunks(a, heap, 0);
            assertThat(b.mapping(heap).ptes()).containsOnly(-1);
            // b's fault on the same chunk allocates nothing new but maps it in b.
            assertThat(b.fault(heap, 5)).isFalse();
            assertMappedChunks(b, heap, 0);
            assertHeapUse(heap, 1);
            assertThat(dev.gem().pool().usedPages()).isEqualTo(CHUNK);
            assertClean(dev);
            a.close();
            assertHeapUse(heap, 1);
            assertClean(dev);
            b.close();
            assertEmpty(dev);
        }
    }

    // ------------------------------------------------------------------ failure half way

    @Test
    void firstFaultThatCannotGetItsChunkLeavesNoPageArrayAndFailsEnomem() {
        try (PanfrostDevice dev = PanfrostDevice.builder().ramPages(600).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo other = c.createBo("other", 200 * PAGE, BoFlags.NOEXEC);
            PanfrostBo heap = c.createBo("heap", 2 * SZ_2M, HEAP);
            assertClean(dev);
            int used = dev.gem().pool().usedPages();
            assertThat(used).isEqualTo(200);

            assertErrno(Errno.ENOMEM, () -> c.fault(heap, 4096));
            assertNothingOfTheHeap(dev, heap, used);
            assertErrno(Errno.ENOMEM, () -> c.fault(heap, SZ_2M));
            assertNothingOfTheHeap(dev, heap, used);

            // Through a job: the job faults, the error is the heap fault's ENOMEM, the next job still runs.
            long hva = c.mapping(heap).va();
            Job j = run(c, List.of(heap), ctx -> ctx.write(hva + 10, new byte[] {1}));
            assertThat(j.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(j.error()).get().isInstanceOf(GpuFaultException.class);
            assertThat(j.error().get().getCause()).isInstanceOf(GemException.class);
            assertThat(((GemException) j.error().get().getCause()).errno()).isEqualTo(Errno.ENOMEM);
            assertThat(dev.stats().gpuFaults()).as("no fault was resolved").isZero();
            assertNothingOfTheHeap(dev, heap, used);
            Job next = run(c, List.of(other), GpuWork.NONE);
            assertThat(next.status()).isEqualTo(Job.Status.DONE);

            // Once memory is there, the same fault works.
            c.close(other);
            assertThat(c.fault(heap, 4096)).isTrue();
            assertHeapUse(heap, 1);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void laterFaultThatCannotGetItsChunkLeavesTheTableAsItWas() {
        try (PanfrostDevice dev = PanfrostDevice.builder().ramPages(1100).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo other = c.createBo("other", 200 * PAGE, BoFlags.NOEXEC);
            PanfrostBo heap = c.createBo("heap", 4 * SZ_2M, HEAP);
            assertThat(c.fault(heap, SZ_2M)).isTrue();
            assertHeapUse(heap, 1);
            assertClean(dev);
            int used = dev.gem().pool().usedPages();
            assertThat(used).isEqualTo(200 + CHUNK);
            ObjectState before = heap.shmem().inspect();

            assertErrno(Errno.ENOMEM, () -> c.fault(heap, 0));
            assertThat(dev.gem().pool().usedPages()).isEqualTo(used);
            assertHeapUse(heap, 1);
            assertThat(heap.shmem().inspect().pfns()).containsExactly(before.pfns());
            assertMappedChunks(c, heap, 1);
            assertClean(dev);

            long hva = c.mapping(heap).va();
            byte[] seen = new byte[1];
            Job j = run(c, List.of(heap), ctx -> {
                ctx.write(hva + SZ_2M, new byte[] {7}); // mapped: fine
                ctx.read(hva + SZ_2M, seen);
                ctx.write(hva + 3 * SZ_2M, new byte[] {8}); // needs a chunk: fails
            });
            assertThat(j.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(seen[0]).isEqualTo((byte) 7);
            assertThat(((GemException) j.error().orElseThrow().getCause()).errno()).isEqualTo(Errno.ENOMEM);
            assertThat(dev.gem().pool().usedPages()).isEqualTo(used);
            assertHeapUse(heap, 1);
            assertMappedChunks(c, heap, 1);
            assertClean(dev);

            c.close(other);
            assertThat(c.fault(heap, 3 * SZ_2M)).isTrue();
            assertHeapUse(heap, 2);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void heapFaultReclaimsAPurgeableBoToFindItsChunk() {
        try (PanfrostDevice dev = PanfrostDevice.builder().ramPages(600).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo cache = c.createBo("cached", 200 * PAGE, BoFlags.NOEXEC);
            PanfrostBo heap = c.createBo("heap", SZ_2M, HEAP);
            c.madvise(cache, Madv.DONTNEED);
            // The allocation runs direct reclaim while the heap's reservation lock is held: it purges the cache BO.
            assertThat(c.fault(heap, 0)).isTrue();
            assertThat(cache.shmem().madv()).isEqualTo(Madv.PURGED);
            assertThat(c.mapping(cache).ptes()).containsOnly(-1);
            assertHeapUse(heap, 1);
            assertThat(dev.gem().pool().usedPages()).isEqualTo(CHUNK);
            assertClean(dev);
            assertThat(c.madvise(cache, Madv.WILLNEED)).isFalse();
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void faultOutsideTheHeapOrOnANormalBoIsEinval() {
        try (PanfrostDevice dev = PanfrostDevice.builder().ramPages(1024).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo heap = c.createBo("heap", SZ_2M, HEAP);
            PanfrostBo normal = c.createBo("normal", PAGE, BoFlags.NOEXEC);
            assertErrno(Errno.EINVAL, () -> c.fault(heap, SZ_2M));
            assertErrno(Errno.EINVAL, () -> c.fault(heap, -1));
            assertErrno(Errno.EINVAL, () -> c.fault(normal, 0));
            assertThat(heap.shmem().inspect().pfns()).isNull();
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static void assertNothingOfTheHeap(PanfrostDevice dev, PanfrostBo heap, int poolUsed) {
        ObjectState s = heap.shmem().inspect();
        assertThat(dev.gem().pool().usedPages()).as("pool usage unchanged").isEqualTo(poolUsed);
        assertThat(s.pagesUse()).as("pages_use unchanged").isZero();
        assertThat(s.owners(OwnerKind.PAGES_HEAP_CHUNKS)).isZero();
        assertThat(s.pfns()).as("no page array").isNull();
        assertThat(s.residentPages()).isZero();
        assertThat(heap.heapChunks()).isZero();
        assertThat(dev.stats().heapChunks()).isZero();
        assertClean(dev);
    }

    /** pages_use is 1 (the chunk table's) while chunks exist, and the resident pages are exactly the chunks'. */
    private static void assertHeapUse(PanfrostBo heap, int chunks) {
        ObjectState s = heap.shmem().inspect();
        assertThat(heap.heapChunks()).as("chunks").isEqualTo(chunks);
        assertThat(s.pagesUse()).as("pages_use").isEqualTo(1);
        assertThat(s.owners(OwnerKind.PAGES_HEAP_CHUNKS)).as("chunk table's use").isEqualTo(1);
        assertThat(s.owners(OwnerKind.PAGES_SGT)).isZero();
        assertThat(s.pinCount()).isZero();
        assertThat(s.residentPages()).isEqualTo(chunks * CHUNK);
        assertThat(s.madv()).isEqualTo(Madv.WILLNEED);
        assertThat(s.swappedPages()).isZero();
    }

    /** Exactly the given chunks are mapped in the client, each page to the heap's frame. */
    private static void assertMappedChunks(PanfrostClient c, PanfrostBo heap, int... chunks) {
        int[] ptes = c.mapping(heap).ptes();
        int[] pfns = heap.shmem().inspect().pfns();
        List<Integer> want = new ArrayList<>();
        for (int ch : chunks) {
            want.add(ch);
        }
        for (int i = 0; i < ptes.length; i++) {
            boolean mapped = want.contains(i / CHUNK);
            assertThat(ptes[i] >= 0).as("page %d mapped", i).isEqualTo(mapped);
            if (mapped) {
                assertThat(ptes[i]).isEqualTo(pfns[i]);
            }
        }
    }

    /** Waits until a held job's work has run (its status leaves QUEUED/RUNNING), bounded. */
    private static void waitForWork(Job job) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while ((job.status() == Job.Status.QUEUED || job.status() == Job.Status.RUNNING)
                && System.nanoTime() < deadline) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        assertThat(job.status()).as("%s ran", job).isIn(Job.Status.DONE, Job.Status.FAULTED);
        assertThat(job.fence().isSignalled()).as("a held job's fence waits for complete()").isFalse();
    }
}
