package dev.gemshrink.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code simulate --driver}: every workload on the Panthor-like driver, the tabs workload, and the usage errors. */
class SimulateDriverTest {
    private static String[] args(String workload, String driver, String seed) {
        return new String[] {"simulate", "--workload", workload, "--driver", driver, "--seconds", "0.3", "--threads",
            "1", "--seed", seed, "--ram", "8MiB", "--swap", "16MiB"};
    }

    @ParameterizedTest
    @ValueSource(strings = {"glmark2", "browser", "compute", "tabs"})
    void everyWorkloadRunsOnPanthorDeterministically(String workload) {
        CliRun a = CliRun.of(args(workload, "panthor", "42"));
        assertThat(a.exit()).as("%s", a).isZero();
        assertThat(a.err()).as("%s", a).isEmpty();
        assertThat(a.outLines().get(0)).startsWith("simulate: workload=" + workload + " policy=lru ")
                .contains(" driver=panthor ");
        assertThat(SimulateTest.summaryBlock(a)).startsWith("summary: workload=" + workload + " ")
                .contains(" driver=panthor\n");
        assertThat(SimulateTest.summaryBlock(CliRun.of(args(workload, "panthor", "42"))))
                .isEqualTo(SimulateTest.summaryBlock(a));
        Map<String, Long> s = SimulateTest.summary(a);
        assertThat(s.get("integrity failures")).isZero();
        assertThat(s.get("invariant violations")).isZero();
        assertThat(s.get("pages purged")).isZero();
        assertThat(s).containsKeys("pages discarded", "jobs rendered incrementally");
        assertThat(a.out()).contains("simulate: ok");
    }

    @Test
    void tabsShowsItsTabsDiscardsRefaultsAndIncrementalRendering() {
        CliRun r = CliRun.of(args("tabs", "panthor", "7"));
        assertThat(r.exit()).as("%s", r).isZero();
        Map<String, Long> s = SimulateTest.summary(r);
        assertThat(s.get("tabs opened")).isPositive();
        assertThat(s.get("pages evicted")).isPositive();
        assertThat(s.get("pages discarded")).isPositive();
        assertThat(s.get("refaults (pages swapped in)")).isPositive();
        assertThat(s.get("jobs rendered incrementally")).isPositive();
    }

    @Test
    void panfrostIsTheDefaultAndSaysSo() {
        CliRun r = CliRun.of("simulate", "--workload", "compute", "--seconds", "0.2", "--threads", "1", "--seed", "1",
                "--ram", "8MiB");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines().get(0)).contains(" driver=panfrost ");
        assertThat(SimulateTest.summary(r)).doesNotContainKeys("pages discarded", "jobs rendered incrementally");
        assertThat(SimulateTest.summaryBlock(CliRun.of("simulate", "--workload", "compute", "--driver", "panfrost",
                "--seconds", "0.2", "--threads", "1", "--seed", "1", "--ram", "8MiB")))
                .isEqualTo(SimulateTest.summaryBlock(r));
    }

    @Test
    void usageErrors() {
        assertUsage(CliRun.of("simulate", "--driver", "nouveau"),
                "gemshrink: simulate: invalid value for option '--driver': unknown driver 'nouveau' (panfrost or "
                        + "panthor)");
        assertUsage(CliRun.of("simulate", "--workload", "tabs"),
                "gemshrink: simulate: --workload tabs: the tabs workload needs the panthor driver");
        assertUsage(CliRun.of("simulate", "--workload", "tabs", "--driver", "panfrost"),
                "gemshrink: simulate: --workload tabs: the tabs workload needs the panthor driver");
        assertUsage(CliRun.of("simulate", "--gems", "--driver", "panthor"),
                "gemshrink: simulate: --gems needs --driver panfrost");
        assertUsage(CliRun.of("simulate", "--workload", "trace", "--trace", "t", "--capacity", "4", "--driver",
                "panthor"), "gemshrink: simulate: --driver does not apply to --workload trace");
    }

    private static void assertUsage(CliRun r, String message) {
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).as("%s", r).startsWith(message);
        assertThat(r.out()).as("nothing runs").isEmpty();
    }
}
