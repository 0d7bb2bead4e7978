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
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.FaultySwapStore;
import dev.gemshrink.testing.InjectedError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every failure path leaves the driver as it was: a bind that cannot make its BO resident, a failed validation, a job
 * whose work throws an Error. */
@Timeout(60)
class PanthorFailurePathTest {
    private static final long VA = 1L << 32;

    @Test
    void aBindThatCannotMakeTheBoResidentReleasesItsRangeAndReference() {
        try (PanthorDevice dev = device(8, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo big = c.createBo("big", 16 * PAGE, 0, vm);
            assertErrno(Errno.ENOMEM, () -> vm.bind(big, 0, PAGE, VA));
            assertThat(vm.bindings()).isEmpty();
            assertThat(big.bindings()).isEmpty();
            assertThat(big.refs()).isEqualTo(1);
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertClean(dev);
            PanthorBo small = c.createBo("small", 4 * PAGE, 0, vm);
            VmBinding b = vm.bind(small, 0, 4 * PAGE, VA);
            assertThat(vm.bindings()).containsExactly(b);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aSubmitWhoseSwapInFailsQueuesNoJobLeavesTheVmIdleAndKeepsTheSwapCopy() throws Exception {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(64));
        try (PanthorDevice dev = PanthorDevice.builder().ramPages(64).swap(swap).build()) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("bo", 4 * PAGE, 0, vm);
            vm.bind(bo, 0, 4 * PAGE, VA);
            byte[] data = bytes(9, 4 * PAGE);
            bo.write(0, data);
            bo.reclaim();
            swap.failLoads(true);
            boolean[] ran = {false};
            assertErrno(Errno.EFAULT, () -> vm.submit("job", ctx -> ran[0] = true));
            assertThat(vm.isBusy()).isFalse();
            assertThat(bo.isEvicted()).as("the swap copy is kept").isTrue();
            assertThat(dev.gem().shrinker().count()).isZero();
            assertClean(dev);
            swap.heal();
            assertThat(gpuRead(vm, VA, 4 * PAGE)).isEqualTo(data);
            assertThat(ran[0]).as("the refused job never ran").isFalse();
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aJobWhoseWorkThrowsAnErrorFaultsAloneAndTheNextJobRuns() throws Exception {
        try (PanthorDevice dev = device(64, 64)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("bo", PAGE, 0, null);
            vm.bind(bo, 0, PAGE, VA);
            PanthorJob bad = await(vm.submit("bad", ctx -> {
                throw new InjectedError("work");
            }));
            assertThat(bad.status()).isEqualTo(PanthorJob.Status.FAULTED);
            assertThat(bad.error().orElseThrow().errno()).isEqualTo(Errno.EFAULT);
            assertThat(bad.error().orElseThrow().getCause()).isInstanceOf(InjectedError.class);
            assertThat(vm.isBusy()).isFalse();
            byte[] one = {42};
            assertThat(await(vm.submit("write", ctx -> ctx.write(VA + 7, one))).status())
                    .isEqualTo(PanthorJob.Status.DONE);
            assertThat(gpuRead(vm, VA + 7, 1)).isEqualTo(one);
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }
}
