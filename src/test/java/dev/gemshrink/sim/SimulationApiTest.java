package dev.gemshrink.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.reclaim.ReclaimPolicy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Simulations from Java, as a JUnit user of the library runs them: a workload for N operations or N seconds. */
class SimulationApiTest {
    @TempDir
    Path tmp;

    private static SimulationConfig.Builder small() {
        return SimulationConfig.builder().ramBytes(8L << 20).swapBytes(16L << 20).seed(11);
    }

    @Test
    void aDeterministicRunForNOperationsRepeatsExactly() throws Exception {
        SimulationConfig config = small().workload(Workload.BROWSER).threads(1).operations(1_500).build();
        AtomicInteger statuses = new AtomicInteger();
        SimulationResult a = new Simulation(config, s -> {
            assertThat(s.operationBudget()).isEqualTo(1_500);
            statuses.incrementAndGet();
        }).run();
        SimulationResult b = new Simulation(config).run();
        assertThat(a.ok()).as("%s", a.failures()).isTrue();
        assertThat(a.summary().count("ops")).isBetween(1_500L, 1_600L);
        assertThat(a.summary().rows()).isEqualTo(b.summary().rows());
        assertThat(a.summary().count("reclaim scans")).isPositive();
        assertThat(statuses.get()).isGreaterThan(100);
        assertThat(a.timeline().samples()).hasSizeGreaterThan(100);
        assertThat(a.timeline().xLabel()).isEqualTo("operations");
        assertThat(a.stoppedEarly()).isFalse();
    }

    @Test
    void aThreadedRunForNSecondsWritesItsReport() throws Exception {
        Path swap = tmp.resolve("swap");
        SimulationResult r = new Simulation(small().workload(Workload.COMPUTE).threads(2).seconds(0.5)
                .swapFile(swap).build()).run();
        assertThat(r.ok()).as("%s", r.failures()).isTrue();
        assertThat(r.elapsedNanos()).isGreaterThanOrEqualTo(500_000_000L);
        assertThat(r.timeline().xLabel()).isEqualTo("seconds");
        assertThat(swap).as("the run's swap file is removed").doesNotExist();
        Path report = tmp.resolve("r.html");
        HtmlReport.write(report, ReportHeader.of("from a test"), List.of(r));
        assertThat(Files.readString(report, StandardCharsets.UTF_8)).contains("from a test", "memory-chart");
    }

    @Test
    void stopEndsARunEarlyWithTheResultOfWhatRan() throws Exception {
        Simulation[] self = new Simulation[1];
        self[0] = new Simulation(small().threads(2).seconds(600).build(), s -> {
            if (s.operations() > 0) {
                self[0].stop();
            }
        });
        SimulationResult r = self[0].run();
        assertThat(r.stoppedEarly()).isTrue();
        assertThat(r.ok()).as("%s", r.failures()).isTrue();
        assertThat(r.elapsedNanos()).isLessThan(60_000_000_000L);
        assertThatThrownBy(self[0]::run).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void anExistingSwapFileIsNeverOverwritten() throws Exception {
        Path precious = Files.writeString(tmp.resolve("precious"), "keep me");
        Simulation sim = new Simulation(small().threads(1).operations(10).swapFile(precious).build());
        assertThatThrownBy(sim::run).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(Files.readString(precious)).isEqualTo("keep me");
    }

    @Test
    void badValuesAreRefusedByTheBuilder() {
        assertThatThrownBy(() -> SimulationConfig.builder().ramBytes(1024)).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("RAM must be 4MiB..16GiB");
        assertThatThrownBy(() -> SimulationConfig.builder().threads(65)).isInstanceOf(
                IllegalArgumentException.class);
        assertThatThrownBy(() -> SimulationConfig.builder().seconds(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SimulationConfig.builder().swapBytes(0).swapFile(Path.of("x")).build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(SimulationConfig.builder().workload(Workload.COMPUTE).seconds(2).build().operations())
                .isEqualTo(2L * Workload.COMPUTE.operationsPerSecond());
    }

    static Stream<ReclaimPolicy> policies() {
        return ReclaimPolicy.builtIns().stream();
    }

    /**
     * A run under each built-in policy keeps its data and invariants, names its policy, and counts its refaults:
     * pages read back from swap, never more than were evicted.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("policies")
    void everyPolicyRunsAndCountsItsRefaults(ReclaimPolicy policy) throws Exception {
        SimulationResult r = new Simulation(small().workload(Workload.COMPUTE).policy(policy).threads(1)
                .operations(300).build()).run();
        assertThat(r.ok()).as("%s", r.failures()).isTrue();
        assertThat(r.config().policy()).isSameAs(policy);
        assertThat(r.config().toString()).startsWith("workload=compute policy=" + policy.name() + " threads=1 ");
        assertThat(r.summary().title()).startsWith("workload=compute policy=" + policy.name() + " threads=1 ");
        assertThat(r.refaults()).isEqualTo(r.summary().count(Summary.REFAULTS)).isPositive()
                .isLessThanOrEqualTo(r.summary().count("pages evicted"));
    }

    @Test
    void thePolicyDefaultsToLruAndIsRequired() {
        assertThat(SimulationConfig.builder().build().policy()).isSameAs(ReclaimPolicy.lru());
        assertThatThrownBy(() -> SimulationConfig.builder().policy(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("policy");
    }

    /** Several summaries print as one table, a column per run, every row with each run's value in its column. */
    @Test
    void summariesPrintSideBySide() throws Exception {
        SimulationResult a = new Simulation(small().workload(Workload.BROWSER).threads(1).operations(600).build())
                .run();
        SimulationResult b = new Simulation(small().workload(Workload.BROWSER).seed(12).threads(1).operations(600)
                .build()).run();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            Summary.printSideBySide(out, List.of("first", "second"), List.of(a.summary(), b.summary()));
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines.get(0)).isEqualTo("summary first: " + a.summary().title());
        assertThat(lines.get(1)).isEqualTo("summary second: " + b.summary().title());
        assertThat(cells(lines.get(3))).containsExactly("metric", "first", "second");
        List<Summary.Row> rows = a.summary().rows();
        assertThat(lines).hasSize(2 + 3 + rows.size() + 1);
        for (int i = 0; i < rows.size(); i++) {
            String metric = rows.get(i).metric();
            assertThat(cells(lines.get(5 + i))).containsExactly(metric, rows.get(i).value(),
                    Long.toString(b.summary().count(metric)));
        }
        assertThat(lines.get(2)).isEqualTo(lines.get(4)).isEqualTo(lines.get(lines.size() - 1)).matches("\\+[-+]+");
        assertThat(lines.stream().skip(2).mapToInt(String::length).distinct()).hasSize(1);
        assertThatThrownBy(() -> Summary.printSideBySide(System.out, List.of("one"), List.of(a.summary(),
                b.summary()))).isInstanceOf(IllegalArgumentException.class);
    }

    private static List<String> cells(String line) {
        return Arrays.stream(line.split("\\|")).map(String::strip).filter(c -> !c.isEmpty()).toList();
    }
}
