package dev.gemshrink.core;

import static dev.gemshrink.testing.Invariants.assertClean;
import static dev.gemshrink.testing.Invariants.assertEmpty;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.GemException;
import dev.gemshrink.memory.SwapStore;
import org.junit.jupiter.api.Test;

/** Each object counts its successful reclaims (saturating); a registration remembers what its last scan freed. */
class TimesReclaimedTest {
    private static GemDevice device() {
        return GemDevice.builder().ramPages(64).swap(SwapStore.inMemory(64)).build();
    }

    @Test
    void everySuccessfulEvictionCountsAndTheCounterSaturates() {
        try (GemDevice dev = device()) {
            ShmemObject o = dev.createObject(4096);
            o.getPagesSgt();
            assertThat(o.timesReclaimed()).isZero();
            for (int i = 1; i <= ShmemObject.RECLAIM_COUNT_MAX + 10; i++) {
                assertThat(o.evict()).isEqualTo(1);
                o.pin().close(); // swapped back in
                assertThat(o.timesReclaimed()).isEqualTo(Math.min(i, ShmemObject.RECLAIM_COUNT_MAX));
            }
            assertClean(dev);
            assertThat(o.free().isEmpty()).isTrue();
            assertEmpty(dev);
        }
    }

    @Test
    void aRefusedReclaimDoesNotCountAndAPurgeDoes() {
        try (GemDevice dev = device()) {
            ShmemObject o = dev.createObject(8192);
            o.getPagesSgt();
            try (Pin p = o.pin()) {
                assertThat(p.isLive()).isTrue();
                assertThatThrownBy(o::evict).isInstanceOf(GemException.class);
            }
            assertThat(o.timesReclaimed()).isZero();
            o.madvise(Madv.DONTNEED);
            assertThat(o.purge()).isEqualTo(2);
            assertThat(o.timesReclaimed()).isEqualTo(1);
            assertThatThrownBy(o::purge).isInstanceOf(GemException.class);
            assertThat(o.timesReclaimed()).isEqualTo(1);
            assertThat(o.free().isEmpty()).isTrue();
            assertEmpty(dev);
        }
    }

    @Test
    void theShrinkerCountsItsReclaimsPerObjectAndRemembersItsLastScan() {
        try (GemDevice dev = device()) {
            ShmemObject a = dev.createObject(3 * 4096);
            a.getPagesSgt();
            a.madvise(Madv.DONTNEED);
            assertThat(dev.shrinker().lastScanFreed()).isZero();
            assertThat(dev.shrinker().scan(1)).isEqualTo(3);
            assertThat(dev.shrinker().lastScanFreed()).isEqualTo(3);
            assertThat(a.timesReclaimed()).isEqualTo(1);
            assertThat(dev.shrinker().scan(1)).isZero(); // nothing left: the scan stops
            assertThat(dev.shrinker().lastScanFreed()).isZero();
            assertThat(a.free().isEmpty()).isTrue();
            assertEmpty(dev);
        }
    }
}
