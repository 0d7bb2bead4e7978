package dev.gemshrink.panthor;

import static dev.gemshrink.panthor.PanthorTesting.PAGE;
import static dev.gemshrink.panthor.PanthorTesting.assertClean;
import static dev.gemshrink.panthor.PanthorTesting.assertErrno;
import static dev.gemshrink.panthor.PanthorTesting.await;
import static dev.gemshrink.panthor.PanthorTesting.bytes;
import static dev.gemshrink.panthor.PanthorTesting.device;
import static dev.gemshrink.panthor.PanthorTesting.gpuRead;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.testing.ThreadStates;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** VMs, explicit bind and unbind, page table entries, jobs, and closing a client. */
@Timeout(60)
class PanthorBindTest {
    private static final long VA = 1L << 32;

    @Test
    void badBindsAndUnbindsAreEinvalAndChangeNothing() {
        try (PanthorDevice dev = device(256, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorClient other = dev.openClient("other");
            PanthorVm vm = c.createVm("vm");
            PanthorVm vm2 = c.createVm("vm2");
            PanthorBo bo = c.createBo("bo", 8 * PAGE, 0, null);
            PanthorBo priv = c.createBo("priv", 4 * PAGE, 0, vm2);
            PanthorBo foreign = other.createBo("foreign", 4 * PAGE, 0, null);
            VmBinding kept = vm.bind(bo, 0, 2 * PAGE, VA);
            int used = dev.gem().pool().usedPages();
            List<Runnable> bad = List.of(
                    () -> vm.bind(bo, 0, 2 * PAGE, VA + 1), // misaligned VA
                    () -> vm.bind(bo, 1, 2 * PAGE, VA + 16 * PAGE), // misaligned offset
                    () -> vm.bind(bo, 0, PAGE + 7, VA + 16 * PAGE), // misaligned size
                    () -> vm.bind(bo, 0, 0, VA + 16 * PAGE), // empty
                    () -> vm.bind(bo, -PAGE, PAGE, VA + 16 * PAGE), // negative offset
                    () -> vm.bind(bo, 4 * PAGE, 5 * PAGE, VA + 16 * PAGE), // past the BO's end
                    () -> vm.bind(bo, 0, 9 * PAGE, VA + 16 * PAGE), // larger than the BO
                    () -> vm.bind(bo, 0, PAGE, PanthorVm.VA_START - PAGE), // below the VA space
                    () -> vm.bind(bo, 0, 2 * PAGE, PanthorVm.VA_END - PAGE), // past the VA space
                    () -> vm.bind(bo, 0, PAGE, VA + PAGE), // overlaps the kept range's end
                    () -> vm.bind(bo, 0, 4 * PAGE, VA - 2 * PAGE), // overlaps its start
                    () -> vm.bind(priv, 0, PAGE, VA + 16 * PAGE), // private to vm2
                    () -> vm.bind(foreign, 0, PAGE, VA + 16 * PAGE), // another client's BO
                    () -> vm.unbind(VA, PAGE), // not the bound size
                    () -> vm.unbind(VA + PAGE, PAGE), // no range starts there
                    () -> vm2.unbind(VA, 2 * PAGE)); // bound in the other VM
            for (Runnable r : bad) {
                assertErrno(Errno.EINVAL, r::run);
                assertThat(vm.bindings()).containsExactly(kept);
                assertThat(vm2.bindings()).isEmpty();
                assertThat(bo.refs()).as("handle and the kept binding").isEqualTo(2);
                assertThat(priv.refs()).isEqualTo(1);
                assertThat(priv.isResident()).isFalse();
                assertThat(dev.gem().pool().usedPages()).isEqualTo(used);
                assertClean(dev);
            }
            vm.unbind(VA, 2 * PAGE);
            assertThat(vm.bindings()).isEmpty();
            assertThat(bo.refs()).isEqualTo(1);
            assertErrno(Errno.EINVAL, () -> vm.unbind(VA, 2 * PAGE));
            assertErrno(Errno.EINVAL, () -> c.createBo("zero", 0, 0, null));
            assertErrno(Errno.EINVAL, () -> c.createBo("flags", PAGE, 0x80, null));
            assertErrno(Errno.EINVAL, () -> other.createBo("x", PAGE, 0, vm));
            assertClean(dev);
            c.close();
            other.close();
            assertClean(dev);
        }
    }

    @Test
    void boundRangesPointAtTheBosFramesAndAnEvictedBoHasNoEntries() throws Exception {
        try (PanthorDevice dev = device(256, 256)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm a = c.createVm("a");
            PanthorVm b = c.createVm("b");
            PanthorBo bo = c.createBo("shared", 8 * PAGE, 0, null);
            VmBinding whole = a.bind(bo, 0, 8 * PAGE, VA);
            VmBinding part = b.bind(bo, 3 * PAGE, 2 * PAGE, VA + 64 * PAGE);
            int[] pfns = bo.inspect().pfns();
            assertThat(whole.ptes()).isEqualTo(pfns);
            assertThat(part.ptes()).isEqualTo(Arrays.copyOfRange(pfns, 3, 5));
            assertThat(part.offset()).isEqualTo(3 * PAGE);
            byte[] data = bytes(1, 8 * PAGE);
            bo.write(0, data);
            assertClean(dev);

            assertThat(bo.reclaim()).isEqualTo(8);
            assertThat(bo.isEvicted()).isTrue();
            assertThat(whole.ptes()).containsOnly(-1);
            assertThat(part.ptes()).containsOnly(-1);
            assertClean(dev);

            // A job of VM b validates b: the BO comes back and its range in b is mapped again; a's waits for a's job.
            assertThat(gpuRead(b, VA + 64 * PAGE, 2 * PAGE)).isEqualTo(Arrays.copyOfRange(data, 3 * PAGE, 5 * PAGE));
            assertThat(bo.isEvicted()).isFalse();
            assertThat(part.ptes()).isEqualTo(Arrays.copyOfRange(bo.inspect().pfns(), 3, 5));
            assertThat(whole.ptes()).containsOnly(-1);
            assertClean(dev);
            assertThat(gpuRead(a, VA, 8 * PAGE)).isEqualTo(data);
            assertThat(whole.ptes()).isEqualTo(bo.inspect().pfns());
            assertClean(dev);

            // A job that reads outside every range faults alone; the next one runs.
            PanthorJob bad = await(a.submit("bad", ctx -> ctx.read(VA + 8 * PAGE, new byte[1])));
            assertThat(bad.status()).isEqualTo(PanthorJob.Status.FAULTED);
            assertThat(bad.error().orElseThrow().errno()).isEqualTo(Errno.EFAULT);
            assertThat(gpuRead(a, VA + PAGE, 16)).isEqualTo(Arrays.copyOfRange(data, PAGE, PAGE + 16));
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void closingAClientWaitsForItsJobsAndFreesEverything() throws Exception {
        try (PanthorDevice dev = device(512, 512)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm a = c.createVm("a");
            PanthorVm b = c.createVm("b");
            PanthorBo shared = c.createBo("shared", 4 * PAGE, 0, null);
            PanthorBo priv = c.createBo("priv", 4 * PAGE, 0, a);
            PanthorBo scratch = c.createBo("scratch", 4 * PAGE, PanthorBo.DISCARD_ON_RECLAIM, b);
            PanthorBo unbound = c.createBo("unbound", 4 * PAGE, 0, null);
            a.bind(shared, 0, 4 * PAGE, VA);
            b.bind(shared, 0, 2 * PAGE, VA);
            a.bind(priv, 0, 4 * PAGE, VA + 16 * PAGE);
            b.bind(scratch, 0, 4 * PAGE, VA + 16 * PAGE);
            shared.write(0, bytes(2, 4 * PAGE));
            priv.reclaim();
            scratch.reclaim();
            TilerHeap heap = a.createTilerHeap("heap", 4 * PAGE, 4);
            assertThat(await(a.submit("grow", ctx -> ctx.growHeap(heap))).status())
                    .isEqualTo(PanthorJob.Status.DONE);
            assertThat(unbound.refs()).isEqualTo(1);
            assertClean(dev);

            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch gate = new CountDownLatch(1);
            PanthorJob held = b.submit("held", ctx -> {
                started.countDown();
                awaitGate(gate);
            });
            assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
            Thread closer = new Thread(c::close, "closer");
            closer.start();
            ThreadStates.awaitParkedIn(closer, PanthorJob.class, 10, TimeUnit.SECONDS);
            assertThat(held.status()).isEqualTo(PanthorJob.Status.QUEUED);
            assertThat(scratch.isFreed()).as("VM b waits for its job before unbinding").isFalse();
            gate.countDown();
            closer.join(10_000);
            assertThat(closer.isAlive()).isFalse();
            assertThat(held.status()).isEqualTo(PanthorJob.Status.DONE);
            assertThat(List.of(shared, priv, scratch, unbound)).allMatch(PanthorBo::isFreed);
            assertThat(dev.bos()).isEmpty();
            assertThat(dev.gem().objects()).isEmpty();
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertThat(dev.gem().swap().usedPages()).isZero();
            assertClean(dev);
            assertErrno(Errno.ENOENT, () -> c.createVm("late"));
            assertErrno(Errno.ENOENT, () -> a.submit("late", ctx -> { }));
            assertErrno(Errno.ENOENT, () -> a.bind(shared, 0, PAGE, VA));
        }
    }

    @Test
    void aBoLivesUntilItsHandleAndEveryBindingAreGone() {
        try (PanthorDevice dev = device(64, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("bo", 2 * PAGE, 0, null);
            vm.bind(bo, 0, PAGE, VA);
            vm.bind(bo, PAGE, PAGE, VA + PAGE);
            c.closeBo(bo);
            assertErrno(Errno.ENOENT, () -> c.closeBo(bo));
            assertThat(bo.isFreed()).isFalse();
            vm.unbind(VA, PAGE);
            assertThat(bo.isFreed()).isFalse();
            assertClean(dev);
            vm.unbind(VA + PAGE, PAGE);
            assertThat(bo.isFreed()).isTrue();
            assertErrno(Errno.ENOENT, () -> vm.bind(bo, 0, PAGE, VA));
            assertThat(vm.bindings()).isEmpty();
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    static void awaitGate(CountDownLatch gate) {
        try {
            assertThat(gate.await(10, TimeUnit.SECONDS)).as("gate opened").isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
