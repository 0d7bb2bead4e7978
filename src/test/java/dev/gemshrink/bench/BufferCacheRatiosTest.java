package dev.gemshrink.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.bench.BufferCacheRatios.Measured;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The buffer-cache report's arithmetic and verdicts, on made-up iterations (no benchmark runs). */
class BufferCacheRatiosTest {
    private static Measured m(String cache, int cost, double score, double ratio) {
        return new Measured(cache, cost, new double[] {score, score, score}, new double[] {ratio, ratio, ratio});
    }

    @Test
    void eachPolicyIsSetAgainstCaffeineAtItsOwnRefillCost() {
        String text = BufferCacheRatios.report(List.of(
                m("lru", 10, 50, 0.25), m("caffeine", 10, 100, 0.20),
                m("lru", 0, 300, 0.19), m("caffeine", 0, 200, 0.20)));
        List<String> lines = text.lines().toList();
        assertThat(lines).hasSize(1 + 4 + 2);
        assertThat(lines.get(0)).contains("refill us/page", "cache", "throughput / Caffeine");
        assertThat(lines.get(1).split("\\s+")).startsWith("0", "caffeine", "200", "±", "0", "0.2000", "±", "0.0000");
        assertThat(lines.get(2).split("\\s+")).startsWith("0", "lru", "300", "±", "0", "0.1900", "±", "0.0000",
                "1.50", "(1.50..1.50)", "-0.0100");
        assertThat(lines.get(3).split("\\s+")).startsWith("10", "caffeine");
        assertThat(lines.get(4).split("\\s+")).startsWith("10", "lru", "50", "±", "0", "0.2500", "±", "0.0000",
                "0.50", "(0.50..0.50)", "+0.0500");
        assertThat(lines.get(5)).isEqualTo("refill 0 us/page: target met by lru");
        assertThat(lines.get(6)).isEqualTo("refill 10 us/page: target missed; fastest lru at 0.50x Caffeine "
                + "(miss ratio +0.0500), fewest misses lru at +0.0500 (0.50x)");
    }

    @Test
    void errorBarsWidenTheThroughputRatioAndAMissingBaselineGivesNoVerdict() {
        Measured noisy = new Measured("lru", 1, new double[] {90, 100, 110}, new double[] {0.1, 0.1, 0.1});
        Measured caffeine = new Measured("caffeine", 1, new double[] {100, 100, 100}, new double[] {0.2, 0.2, 0.2});
        String[] row = BufferCacheRatios.report(List.of(noisy, caffeine)).lines().toList().get(2).split("\\s+");
        assertThat(row[8]).isEqualTo("1.00");
        String[] range = row[9].replaceAll("[()]", "").split("\\.\\.");
        assertThat(Double.parseDouble(range[0])).isLessThan(1.0);
        assertThat(Double.parseDouble(range[1])).isGreaterThan(1.0);
        assertThat(BufferCacheRatios.report(List.of(noisy)).lines().toList()).hasSize(2);
        Measured single = new Measured("caffeine", 2, new double[] {5}, new double[] {0.5});
        assertThat(BufferCacheRatios.report(List.of(single))).contains("5 ± n/a", "0.5000 ± n/a");
    }
}
