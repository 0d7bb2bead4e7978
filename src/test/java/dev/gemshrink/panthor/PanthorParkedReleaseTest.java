package dev.gemshrink.panthor;

import dev.gemshrink.memory.PagePool;
import dev.gemshrink.testing.ParkedRelease;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The last reference to a BO dropped while the scanner holds it parked (see {@link ParkedRelease}), on Panthor. */
@Timeout(60)
class PanthorParkedReleaseTest {
    private static final long VA = 1L << 32;

    @Test
    void aBoUnboundAndClosedWhileParkedByTheScanIsFreedAndNeverSplicedBack() throws Exception {
        ParkedRelease.run(swap -> {
            PanthorDevice dev = PanthorDevice.builder().ramPages(256).swap(swap).build();
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo a = c.createBo("a", 4 * PagePool.PAGE_SIZE, 0, vm);
            PanthorBo b = c.createBo("b", 8 * PagePool.PAGE_SIZE, 0, vm);
            vm.bind(a, 0, a.size(), VA);
            vm.bind(b, 0, b.size(), VA + a.size());
            return new ParkedRelease.Scenario(dev.gem(), a.shmem(), b.shmem(), () -> {
                vm.unbind(VA, a.size());
                c.closeBo(a);
            }, dev::check, () -> {
                c.close();
                dev.close();
            });
        });
    }
}
