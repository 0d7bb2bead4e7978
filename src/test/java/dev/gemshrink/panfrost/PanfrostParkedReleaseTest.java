package dev.gemshrink.panfrost;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.testing.ParkedRelease;
import java.util.List;
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
                    c.close(a);
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
