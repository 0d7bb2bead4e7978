package dev.gemshrink.panthor;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.testing.ParkedRelease;
import java.util.List;
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
            return new ParkedRelease.Scenario() {
                @Override
                public GemDevice gem() {
                    return dev.gem();
                }

                @Override
                public ShmemObject parked() {
                    return a.shmem();
                }

                @Override
                public ShmemObject evicted() {
                    return b.shmem();
                }

                @Override
                public void dropLastReference() {
                    vm.unbind(VA, a.size());
                    c.closeBo(a);
                }

                @Override
                public List<Violation> check() {
                    return dev.check();
                }

                @Override
                public void close() {
                    c.close();
                    dev.close();
                }
            };
        });
    }
}
