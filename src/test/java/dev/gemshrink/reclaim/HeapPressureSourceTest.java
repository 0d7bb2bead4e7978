package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@link HeapPressureSource}: the heap usage thresholds are one per pool for the whole JVM, so sources share them
 * (the lowest live threshold is armed, closing one re-arms for the rest, the last close restores what was there).
 */
class HeapPressureSourceTest {

    /** The heap pools of this JVM that take a usage threshold. */
    private static List<MemoryPoolMXBean> jvmHeapPools() {
        return ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP && p.isUsageThresholdSupported()
                        && p.getUsage().getMax() > 0)
                .collect(Collectors.toList());
    }

    private static long at(MemoryPoolMXBean p, double fraction) {
        return (long) (p.getUsage().getMax() * fraction);
    }

    @Test
    void sourcesShareTheJvmWideThresholdAndTheLastCloseRestoresThePreviousOne() {
        List<MemoryPoolMXBean> pools = jvmHeapPools();
        assumeFalse(pools.isEmpty(), "no heap pool supports usage thresholds in this JVM");
        long[] before = pools.stream().mapToLong(MemoryPoolMXBean::getUsageThreshold).toArray();
        ShrinkerRegistry registry = new ShrinkerRegistry();
        try {
            // Someone else in this JVM set a threshold first.
            pools.forEach(p -> p.setUsageThreshold(at(p, 0.97)));

            HeapPressureSource low = new HeapPressureSource(registry, 0.90, 64);
            HeapPressureSource high = new HeapPressureSource(registry, 0.95, 64);
            assertThat(low.isActive()).isTrue();
            assertThat(high.isActive()).isTrue();
            pools.forEach(p -> assertThat(p.getUsageThreshold()).as("%s: the lowest wins", p.getName())
                    .isEqualTo(at(p, 0.90)));

            high.close();
            assertThat(high.isActive()).isFalse();
            assertThat(low.isActive()).isTrue();
            pools.forEach(p -> assertThat(p.getUsageThreshold()).as("%s: still armed for low", p.getName())
                    .isEqualTo(at(p, 0.90)));

            HeapPressureSource again = new HeapPressureSource(registry, 0.95, 64);
            low.close();
            assertThat(again.isActive()).isTrue();
            pools.forEach(p -> assertThat(p.getUsageThreshold()).as("%s: re-armed for the one left", p.getName())
                    .isEqualTo(at(p, 0.95)));

            again.close();
            again.close(); // idempotent
            pools.forEach(p -> assertThat(p.getUsageThreshold()).as("%s: the previous threshold is back",
                    p.getName()).isEqualTo(at(p, 0.97)));
        } finally {
            for (int i = 0; i < pools.size(); i++) {
                pools.get(i).setUsageThreshold(before[i]);
            }
        }
    }
}
