package dev.gemshrink.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Simulations on the Panthor-like driver: every workload keeps its data and invariants there and repeats exactly in
 * the deterministic mode, the summary names the driver and counts discards and incremental rendering, and the tabs
 * workload runs on Panthor only.
 */
class DriverSimulationTest {
    private static SimulationConfig.Builder small(Workload w) {
        return SimulationConfig.builder().workload(w).driver(Driver.PANTHOR).ramBytes(8L << 20)
                .swapBytes(16L << 20).seed(42).threads(1);
    }

    private static Map<String, Long> counts(SimulationResult r) {
        return r.summary().rows().stream().collect(Collectors.toMap(Summary.Row::metric, x -> Long.parseLong(
                x.value())));
    }

    @ParameterizedTest
    @EnumSource(Workload.class)
    void everyWorkloadRunsOnPanthorAndRepeatsExactly(Workload w) throws Exception {
        SimulationConfig config = small(w).operations(600).build();
        SimulationResult a = new Simulation(config).run();
        SimulationResult b = new Simulation(config).run();
        assertThat(a.ok()).as("%s", a.failures()).isTrue();
        assertThat(a.summary().rows()).isEqualTo(b.summary().rows());
        assertThat(a.summary().title()).endsWith(" driver=panthor");
        assertThat(a.config().toString()).endsWith(" driver=panthor");
        Map<String, Long> s = counts(a);
        assertThat(s).containsKeys("jobs rendered incrementally", "pages discarded");
        assertThat(s.get("pages purged")).as("Panthor has no madvise").isZero();
        assertThat(s.get("jobs")).isPositive();
        assertThat(a.gemsAtEnd().rows()).isEmpty();
    }

    @Test
    void panfrostRemainsTheDefaultAndItsSummaryHasNoPanthorRows() throws Exception {
        SimulationResult r = new Simulation(SimulationConfig.builder().workload(Workload.BROWSER).ramBytes(8L << 20)
                .swapBytes(16L << 20).seed(42).threads(1).operations(300).build()).run();
        assertThat(r.config().driver()).isEqualTo(Driver.PANFROST);
        assertThat(r.summary().title()).endsWith(" driver=panfrost");
        assertThat(counts(r)).doesNotContainKeys("jobs rendered incrementally", "pages discarded", "tabs opened");
    }

    /**
     * Tabs opened until RAM and swap carry them: textures are evicted and discarded, old tabs come back through
     * swap-in at submit, tiler heaps run out of free RAM, and every page a scan reclaimed was either written to swap
     * or discarded.
     */
    @Test
    void tabsAreEvictedDiscardedAndSwappedBackIn() throws Exception {
        SimulationResult r = new Simulation(small(Workload.TABS).operations(2_000).build()).run();
        assertThat(r.ok()).as("%s", r.failures()).isTrue();
        Map<String, Long> s = counts(r);
        assertThat(s.get("tabs opened")).isGreaterThan(50);
        assertThat(s.get("pages evicted")).isPositive();
        assertThat(s.get("pages discarded")).isPositive();
        assertThat(s.get("refaults (pages swapped in)")).isPositive();
        assertThat(s.get("textures uploaded again after a discard")).isPositive();
        assertThat(s.get("jobs rendered incrementally")).isPositive();
        assertThat(s.get("pages reclaimed by scans")).isEqualTo(s.get("pages evicted") + s.get("pages discarded"));
    }

    @Test
    void tabsOnThreadsKeepTheirBytesAndInvariants() throws Exception {
        SimulationResult r = new Simulation(small(Workload.TABS).threads(3).seconds(0.5).build()).run();
        assertThat(r.ok()).as("%s", r.failures()).isTrue();
        assertThat(counts(r).get("tabs opened")).isPositive();
    }

    @Test
    void tabsNeedsPanthor() {
        assertThat(Workload.TABS.refuses(Driver.PANFROST)).get().asString().contains("needs the panthor driver");
        assertThat(Workload.TABS.refuses(Driver.PANTHOR)).isEmpty();
        assertThat(Workload.GLMARK2.refuses(Driver.PANFROST)).isEmpty();
        assertThatThrownBy(() -> SimulationConfig.builder().workload(Workload.TABS).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs the panthor driver");
    }
}
