package dev.gemshrink.panfrost;

import dev.gemshrink.memory.PagePool;
import dev.gemshrink.testing.ParkedRelease;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The last reference to a BO dropped while the scanner holds it parked (see {@link ParkedRelease}), on Panfrost. */
@Timeout(60)
class PanfrostParkedReleaseTest {

    @Test
    void aBoClosedWhileParkedByTheScanIsFreedAndNeverSplicedBack() throws Exception {
        ParkedRelease.run(swap -> {
            PanfrostDevice dev = PanfrostDevice.builder().ramPages(256).swap(swap).build();
            PanfrostClient c = dev.openClient("c");
            PanfrostBo a = c.createBo("a", 4 * PagePool.PAGE_SIZE, BoFlags.NOEXEC);
            PanfrostBo b = c.createBo("b", 8 * PagePool.PAGE_SIZE, BoFlags.NOEXEC);
            return new ParkedRelease.Scenario(dev.gem(), a.shmem(), b.shmem(), () -> c.close(a), dev::check, () -> {
                c.close();
                dev.close();
            });
        });
    }
}
