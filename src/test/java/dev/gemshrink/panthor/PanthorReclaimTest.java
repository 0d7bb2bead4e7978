package dev.gemshrink.panthor;

import static dev.gemshrink.panthor.PanthorTesting.PAGE;
import static dev.gemshrink.panthor.PanthorTesting.assertClean;
import static dev.gemshrink.panthor.PanthorTesting.await;
import static dev.gemshrink.panthor.PanthorTesting.bytes;
import static dev.gemshrink.panthor.PanthorTesting.device;
import static dev.gemshrink.panthor.PanthorTesting.gpuRead;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.core.Placement;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Transparent reclaim on the core's shrinker: discard-on-reclaim, busy VMs, fail-fast tiler heaps, and the shrinker's
 * name, count and retry rules. Eviction and swap-in byte for byte are tested on both drivers by
 * {@code DriverConformanceTest}.
 */
@Timeout(60)
class PanthorReclaimTest {
    private static final long VA = 1L << 32;

    @Test
    void aDiscardOnReclaimBoComesBackAsZerosAndReportsTheDiscard() throws Exception {
        try (PanthorDevice dev = device(256, 256)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("scratch", 8 * PAGE, PanthorBo.DISCARD_ON_RECLAIM, vm);
            VmBinding b = vm.bind(bo, 0, 8 * PAGE, VA);
            bo.write(0, bytes(3, 8 * PAGE));

            assertThat(dev.gem().shrinker().scan(8)).isEqualTo(8);
            assertThat(bo.isDiscarded()).isTrue();
            assertThat(bo.isEvicted()).isFalse();
            assertThat(bo.discards()).isEqualTo(1);
            assertThat(dev.gem().swap().usedPages()).as("a discard writes no swap").isZero();
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertThat(b.ptes()).containsOnly(-1);
            assertThat(bo.inspect().discarded()).isTrue();
            assertClean(dev);

            assertThat(gpuRead(vm, VA, 8 * PAGE)).isEqualTo(new byte[8 * PAGE]);
            assertThat(bo.isDiscarded()).isFalse();
            assertThat(bo.discards()).as("the discard stays reported").isEqualTo(1);
            assertThat(b.ptes()).isEqualTo(bo.inspect().pfns());
            assertClean(dev);

            // The refilled BO keeps what is written from now on, and a CPU read of a discarded BO reads zeros too.
            byte[] next = bytes(4, PAGE);
            bo.write(PAGE, next);
            assertThat(gpuRead(vm, VA + PAGE, PAGE)).isEqualTo(next);
            assertThat(bo.reclaim()).isEqualTo(8);
            byte[] cpu = bytes(5, PAGE);
            bo.read(PAGE, cpu);
            assertThat(cpu).isEqualTo(new byte[PAGE]);
            assertThat(bo.discards()).isEqualTo(2);
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aBoBoundInABusyVmIsNotReclaimed() throws Exception {
        try (PanthorDevice dev = device(256, 256)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm busy = c.createVm("busy");
            PanthorVm idle = c.createVm("idle");
            PanthorBo shared = c.createBo("shared", 4 * PAGE, 0, null);
            PanthorBo other = c.createBo("other", 4 * PAGE, 0, idle);
            busy.bind(shared, 0, 4 * PAGE, VA);
            idle.bind(shared, 0, 4 * PAGE, VA);
            idle.bind(other, 0, 4 * PAGE, VA + 16 * PAGE);
            CountDownLatch gate = new CountDownLatch(1);
            PanthorJob job = busy.submit("held", ctx -> PanthorBindTest.awaitGate(gate));
            assertThat(busy.isBusy()).isTrue();

            assertThat(dev.gem().shrinker().scan(8)).as("only the BO of the idle VM").isEqualTo(4);
            assertThat(shared.isResident()).isTrue();
            assertThat(other.isEvicted()).isTrue();
            assertThat(other.evictions()).isEqualTo(1);
            assertThat(other.discards()).as("evicted, not discarded").isZero();
            PanthorTesting.assertErrno(Errno.EBUSY, shared::reclaim);
            assertClean(dev);

            gate.countDown();
            assertThat(await(job).status()).isEqualTo(PanthorJob.Status.DONE);
            assertThat(busy.isBusy()).isFalse();
            assertThat(dev.gem().shrinker().scan(8)).isEqualTo(4);
            assertThat(shared.isEvicted()).isTrue();
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aHeapChunkThatCannotBeHadWithoutReclaimAsksForIncrementalRenderingAndLeavesNothing() throws Exception {
        try (PanthorDevice dev = device(64, 256)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorVm other = c.createVm("other");
            PanthorBo big = c.createBo("big", 40 * PAGE, 0, other);
            other.bind(big, 0, 40 * PAGE, VA); // idle and evictable: direct reclaim could free it, but must not
            TilerHeap heap = vm.createTilerHeap("tiler", 16 * PAGE, 4);

            PanthorJob first = await(vm.submit("first", ctx -> ctx.growHeap(heap)));
            assertThat(first.status()).as("%s", first.error()).isEqualTo(PanthorJob.Status.DONE);
            assertThat(heap.chunks()).isEqualTo(1);
            assertThat(dev.gem().pool().freePages()).isEqualTo(8);
            assertClean(dev);

            int[] grown = {-1};
            PanthorJob second = await(vm.submit("second", ctx -> grown[0] = ctx.growHeap(heap)));
            assertThat(second.status()).isEqualTo(PanthorJob.Status.INCREMENTAL_RENDERING_NEEDED);
            assertThat(second.error().orElseThrow()).isInstanceOf(IncrementalRenderingNeeded.class)
                    .hasMessageContaining("incremental rendering needed");
            assertThat(grown[0]).isEqualTo(-1);
            assertThat(heap.chunks()).isEqualTo(1);
            assertThat(big.isResident()).as("no direct reclaim ran").isTrue();
            assertThat(dev.gem().shrinker().stats().scans()).isZero();
            assertThat(dev.gem().pool().freePages()).isEqualTo(8);
            assertClean(dev);

            // A first chunk that fails leaves no page array behind.
            TilerHeap empty = vm.createTilerHeap("empty", 16 * PAGE, 2);
            PanthorJob third = await(vm.submit("third", ctx -> ctx.growHeap(empty)));
            assertThat(third.status()).isEqualTo(PanthorJob.Status.INCREMENTAL_RENDERING_NEEDED);
            assertThat(empty.chunks()).isZero();
            assertThat(empty.shmem().isResident()).isFalse();
            assertClean(dev);

            // Once memory is free the heap grows up to its limit, then asks for incremental rendering again.
            other.unbind(VA, 40 * PAGE);
            c.closeBo(big);
            PanthorJob fill = await(vm.submit("fill", ctx -> {
                ctx.growHeap(heap);
                ctx.growHeap(heap);
                ctx.growHeap(heap);
                ctx.growHeap(heap);
            }));
            assertThat(fill.status()).isEqualTo(PanthorJob.Status.INCREMENTAL_RENDERING_NEEDED);
            assertThat(fill.error().orElseThrow()).hasMessageContaining("has its 4 chunks");
            assertThat(heap.chunks()).isEqualTo(4);
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void theShrinkerIsDrmPanthorGemCountsNothingWithoutSwapAndStopsAfterTwoEmptyScans() throws Exception {
        try (PanthorDevice dev = device(256, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            vm.bind(c.createBo("bo", 8 * PAGE, 0, null), 0, 8 * PAGE, VA);
            ShrinkerRegistry.Registration r = dev.gem().shrinker();
            assertThat(r.shrinker().name()).isEqualTo("drm-panthor-gem");
            assertThat(dev.gem().shrinkers().find("drm-panthor-gem")).contains(r);
            assertThat(r.count()).as("no swap: nothing can be reclaimed").isZero();
            c.close();
        }
        try (PanthorDevice dev = device(256, 256)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("bo", 8 * PAGE, 0, null);
            vm.bind(bo, 0, 8 * PAGE, VA);
            Shrinker s = dev.gem().shrinker().shrinker();
            assertThat(dev.gem().shrinker().count()).isEqualTo(8);

            CountDownLatch gate = new CountDownLatch(1);
            PanthorJob job = vm.submit("held", ctx -> PanthorBindTest.awaitGate(gate));
            assertThat(scan(s)).as("first empty scan").isZero();
            assertThat(scan(s)).as("second empty scan").isZero();
            assertThat(scan(s)).as("third: stop").isEqualTo(Shrinker.STOP);
            assertThat(scan(s)).as("and on").isEqualTo(Shrinker.STOP);
            gate.countDown();
            await(job);
            assertThat(scan(s)).as("progress").isEqualTo(8);
            assertThat(dev.gem().lru(Placement.EVICTED).pages()).isEqualTo(8);
            assertThat(scan(s)).as("empty again: the run starts over").isZero();
            assertThat(dev.gem().shrinker().count()).isZero();
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    private static long scan(Shrinker s) {
        return s.scan(new ShrinkControl(8, true, true));
    }
}
