package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_2M;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.gemshrink.core.Export;
import dev.gemshrink.core.Madv;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.stats.BoState;
import dev.gemshrink.stats.Fdinfo;
import dev.gemshrink.stats.GemsTable;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The driver's fdinfo per client and its gems table, computed from the BOs' facts. */
class FdinfoAndGemsTest {
    private static PanfrostDevice device() {
        return PanfrostDevice.builder().ramPages(4096).swap(SwapStore.inMemory(4096)).build();
    }

    @Test
    void clientsAreNumberedFromOneAndANewClientShowsNothing() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            assertThat(a.id()).isEqualTo(1);
            assertThat(b.id()).isEqualTo(2);
            assertThat(b.fdinfo().text()).isEqualTo("drm-driver:\tpanfrost\ndrm-client-id:\t2\n"
                    + "drm-total-memory:\t0\ndrm-shared-memory:\t0\ndrm-active-memory:\t0\n"
                    + "drm-resident-memory:\t0\ndrm-purgeable-memory:\t0\ndrm-evicted-memory:\t0\n");
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }

    @Test
    void theTextFormCountsHeapChunksBusyPurgeableAndSharedBosAsTheKernelDoes() throws Exception {
        try (PanfrostDevice dev = device()) {
            PanfrostClient app = dev.openClient("app");
            PanfrostClient other = dev.openClient("other");
            PanfrostBo tex = app.createBo("tex", 1 << 20, 0);
            PanfrostBo cache = app.createBo("cache", 3 * PAGE, 0);
            PanfrostBo heap = app.createBo("heap", 2 * SZ_2M, BoFlags.HEAP | BoFlags.NOEXEC);
            PanfrostBo mine = other.createBo("mine", 16 * PAGE, 0);
            app.fault(heap, 0);
            app.madvise(cache, Madv.DONTNEED);
            Job job = app.submit("frame", List.of(tex), GpuWork.NONE, true);
            assertThat(tex.isBusy()).isTrue();
            assertThat(app.fdinfo().text()).isEqualTo("drm-driver:\tpanfrost\ndrm-client-id:\t1\n"
                    + "drm-total-memory:\t5132 KiB\n" // 1 MiB + 12 KiB + 4 MiB
                    + "drm-shared-memory:\t0\n"
                    + "drm-active-memory:\t1 MiB\n" // tex, busy
                    + "drm-resident-memory:\t3084 KiB\n" // 1 MiB + 12 KiB + one 2 MiB chunk
                    + "drm-purgeable-memory:\t12 KiB\n" // cache: resident, DONTNEED, idle
                    + "drm-evicted-memory:\t0\n");
            job.complete();
            await(job);

            other.open(tex); // a handle in two clients: shared in both
            try (Export e = mine.shmem().export()) { // exported to another device: shared too
                assertThat(e.isLive()).isTrue();
                Fdinfo o = other.fdinfo();
                assertThat(o.total()).isEqualTo((1 << 20) + 16 * PAGE);
                assertThat(o.shared()).isEqualTo((1 << 20) + 16 * PAGE);
                assertThat(app.fdinfo().shared()).isEqualTo(1 << 20);
            }
            assertThat(other.fdinfo().shared()).isEqualTo(1 << 20);

            assertThat(mine.evict()).isEqualTo(16);
            Fdinfo o = other.fdinfo();
            assertThat(o.evicted()).isEqualTo(16 * PAGE);
            assertThat(o.resident()).isEqualTo(1 << 20);
            assertClean(dev);
            app.close();
            other.close();
            assertEmpty(dev);
        }
    }

    @Test
    void gemsHasOneRowPerBoSortedByNameWithItsStateAndReclaimsAndTheFooter() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient app = dev.openClient("app");
            PanfrostClient other = dev.openClient("other");
            PanfrostBo tex = app.createBo("tex", 8 * PAGE, 0);
            PanfrostBo cache = other.createBo("cache", 4 * PAGE, BoFlags.NOEXEC);
            PanfrostBo heap = app.createBo("heap", SZ_2M, BoFlags.HEAP | BoFlags.NOEXEC);
            other.open(tex);
            other.madvise(cache, Madv.DONTNEED);
            assertThat(dev.gem().shrinker().scan(1)).isEqualTo(4); // purges cache
            assertThat(tex.evict()).isEqualTo(8);
            tex.pin().close(); // swapped back in
            assertThat(tex.evict()).isEqualTo(8);

            GemsTable t = dev.gems();
            assertThat(t.rows()).extracting(GemsTable.Row::name).containsExactly("cache", "heap", "tex");
            assertThat(t.rows().get(0)).isEqualTo(new GemsTable.Row("cache", "other", 4 * PAGE, "noexec", "purged",
                    BoState.PURGED, 0, 0, 0, 0, 1, 1, false));
            assertThat(t.rows().get(1)).isEqualTo(new GemsTable.Row("heap", "app", SZ_2M, "heap|noexec", "willneed",
                    BoState.RESIDENT, 0, 0, 0, 0, 1, 0, false));
            assertThat(t.rows().get(2)).isEqualTo(new GemsTable.Row("tex", "app", 8 * PAGE, "-", "willneed",
                    BoState.EVICTED, 0, 8, 0, 0, 2, 2, false));
            assertThat(t.totalBytes()).isEqualTo(12 * PAGE + SZ_2M);
            assertThat(t.reclaimableBytes()).isZero();
            assertThat(t.lastScanReclaimed()).isEqualTo(4);

            app.fault(heap, 0);
            tex.pin().close();
            GemsTable after = dev.gems();
            assertThat(after.rows().get(1).residentPages()).isEqualTo(512);
            assertThat(after.rows().get(1).reclaimable()).as("a heap BO is never reclaimed").isFalse();
            assertThat(after.rows().get(2).state()).isEqualTo(BoState.RESIDENT);
            assertThat(after.reclaimableBytes()).as("tex, idle and evictable").isEqualTo(8 * PAGE);
            assertThat(after.text()).contains("\ntex    app     32768    -            willneed  resident  8 ")
                    .endsWith("total: " + (12 * PAGE + SZ_2M) + " bytes\ntotal reclaimable: 32768 bytes\n"
                            + "reclaimed by the last scan: 4 pages\n");
            app.close();
            other.close();
            assertEmpty(dev);
        }
    }

    @Test
    void withoutSwapOnlyPurgeableBosAreReclaimable() {
        try (PanfrostDevice dev = PanfrostDevice.builder().ramPages(256).build()) {
            PanfrostClient app = dev.openClient("app");
            PanfrostBo keep = app.createBo("keep", 4 * PAGE, 0);
            PanfrostBo drop = app.createBo("drop", 2 * PAGE, 0);
            app.madvise(drop, Madv.DONTNEED);
            GemsTable t = dev.gems();
            assertThat(t.rows()).extracting(GemsTable.Row::name, GemsTable.Row::reclaimable)
                    .containsExactly(tuple("drop", true),
                            tuple("keep", false));
            assertThat(t.reclaimableBytes()).isEqualTo(2 * PAGE);
            assertThat(keep.isResident()).isTrue();
            app.close();
            assertEmpty(dev);
        }
    }
}
