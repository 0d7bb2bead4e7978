package dev.gemshrink.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.testing.MiniXml;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Short {@code simulate} runs through {@link Main#run}: every workload keeps its data intact and breaks no
 * invariant, the single-threaded mode is deterministic, and the HTML report is well-formed and has its charts.
 */
class SimulateTest {
    @TempDir
    Path tmp;

    /** The summary block: from the {@code summary:} line up to the timings block. */
    static String summaryBlock(CliRun r) {
        String out = r.out();
        int from = out.indexOf("summary: ");
        int to = out.indexOf("timings (wall-clock");
        assertThat(from).as("%s", r).isGreaterThanOrEqualTo(0);
        assertThat(to).as("%s", r).isGreaterThan(from);
        return out.substring(from, to);
    }

    /** The summary table as metric -> value. */
    static Map<String, Long> summary(CliRun r) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String line : summaryBlock(r).split("\n")) {
            if (line.startsWith("| ") && !line.startsWith("| metric")) {
                String[] cells = line.split("\\|");
                m.put(cells[1].strip(), Long.parseLong(cells[2].strip()));
            }
        }
        return m;
    }

    private static void assertSound(CliRun r) {
        assertThat(r.exit()).as("%s", r).isZero();
        Map<String, Long> s = summary(r);
        assertThat(s).as("%s", r).containsKeys("ops", "jobs", "faults (heap growth)", "pages allocated",
                "pages purged", "pages evicted", "refaults (pages swapped in)", "reclaim scans", "ENOMEM");
        assertThat(s.get("integrity failures")).as("%s", r).isZero();
        assertThat(s.get("invariant violations")).as("%s", r).isZero();
        assertThat(s.get("ops")).as("%s", r).isPositive();
        assertThat(r.out()).contains("reclaim scan p50", "reclaim scan p99").contains("simulate: ok");
        assertThat(r.err()).as("%s", r).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"glmark2", "browser", "compute"})
    void eachWorkloadRunsCleanlyOnThreads(String workload) throws Exception {
        Path report = tmp.resolve(workload + ".html");
        CliRun r = CliRun.of("simulate", "--workload", workload, "--seconds", "1", "--threads", "3", "--ram",
                "8MiB", "--swap", "16MiB", "--seed", "7", "--report", report.toString());
        assertSound(r);
        assertThat(r.out()).contains("background reclaimer wakeups");
        MiniXml.Node doc = MiniXml.parse(Files.readString(report, StandardCharsets.UTF_8));
        assertThat(doc.find("polyline")).extracting(p -> p.attr("class"))
                .containsExactly("series resident", "series swapped", "series free");
    }

    @ParameterizedTest
    @ValueSource(strings = {"glmark2", "browser", "compute"})
    void singleThreadedRunsAreDeterministic(String workload) {
        String[] args = {"simulate", "--workload", workload, "--seconds", "0.5", "--threads", "1", "--seed", "42",
            "--ram", "8MiB", "--swap", "16MiB"};
        CliRun a = CliRun.of(args);
        CliRun b = CliRun.of(args);
        assertSound(a);
        assertSound(b);
        assertThat(summaryBlock(b)).isEqualTo(summaryBlock(a));
        Map<String, Long> s = summary(a);
        // Under this budget every workload is under memory pressure.
        assertThat(s.get("reclaim scans")).as("%s", a).isPositive();
        assertThat(s.get("jobs")).as("%s", a).isPositive();
        if (workload.equals("compute")) {
            assertThat(s.get("pages evicted")).as("%s", a).isPositive();
            assertThat(s.get("refaults (pages swapped in)")).as("%s", a).isPositive();
        }
        if (workload.equals("glmark2")) {
            assertThat(s.get("faults (heap growth)")).as("%s", a).isPositive();
        }
        if (workload.equals("browser")) {
            assertThat(s.get("pages purged")).as("%s", a).isPositive();
        }
        // A different seed gives a different run.
        args[8] = "43";
        assertThat(summaryBlock(CliRun.of(args))).isNotEqualTo(summaryBlock(a));
    }

    @Test
    void noSwapMeansNoEviction() {
        CliRun r = CliRun.of("simulate", "--workload", "compute", "--seconds", "0.5", "--threads", "1", "--seed",
                "1", "--ram", "8MiB", "--swap", "0");
        assertSound(r);
        Map<String, Long> s = summary(r);
        assertThat(s.get("pages evicted")).isZero();
        assertThat(s.get("ENOMEM")).as("a working set larger than RAM without swap").isPositive();
    }

    @Test
    void swapFileIsUsedAndRemoved() {
        Path swap = tmp.resolve("swap.bin");
        CliRun r = CliRun.of("simulate", "--workload", "compute", "--seconds", "0.5", "--threads", "1", "--seed",
                "5", "--ram", "8MiB", "--swap", "16MiB", "--swap-file", swap.toString());
        assertSound(r);
        assertThat(summary(r).get("refaults (pages swapped in)")).isPositive();
        assertThat(swap).doesNotExist();
    }

    @Test
    void reportIsSelfContainedHtmlWithCharts() throws Exception {
        Path report = tmp.resolve("report.html");
        // Deterministic, so the run is sure to reclaim (the report code is the same for every mode).
        CliRun r = CliRun.of("simulate", "--workload", "browser", "--seconds", "0.5", "--threads", "1", "--ram",
                "8MiB", "--swap", "16MiB", "--seed", "3", "--report", report.toString());
        assertSound(r);
        assertThat(r.out()).contains("report: " + report);
        String html = Files.readString(report, StandardCharsets.UTF_8);
        assertThat(html).startsWith("<!DOCTYPE html>");
        // Self-contained: no scripts, no links, no external images or styles.
        assertThat(html).doesNotContain("<script").doesNotContain("<link").doesNotContain("src=")
                .doesNotContain("href=").doesNotContain("url(");

        // Well-formed: it parses as XML.
        MiniXml.Node doc = MiniXml.parse(html);
        assertThat(doc.name).isEqualTo("html");
        List<MiniXml.Node> svgs = doc.find("svg");
        assertThat(svgs).extracting(n -> n.attr("id")).containsExactly("memory-chart-0", "reclaim-chart-0",
                "client-chart-0", "enomem-chart-0", "latency-chart-0");
        MiniXml.Node memory = byId(svgs, "memory-chart-0");
        List<String> series = new ArrayList<>();
        for (MiniXml.Node p : memory.find("polyline")) {
            series.add(p.attr("class"));
            assertThat(p.attr("points").strip().split("\\s+").length).as("points of %s", p.attr("class"))
                    .isGreaterThan(5);
        }
        assertThat(series).containsExactly("series resident", "series swapped", "series free");
        assertThat(byId(svgs, "reclaim-chart-0").find("rect")).isNotEmpty();
        // The command line that made the report, at the top.
        assertThat(doc.find("table").get(0).textContent()).contains("gemshrink simulate --workload browser",
                "--report " + report);

        // The summary table, with the same rows as the printed summary.
        MiniXml.Node summary = doc.find("table").stream().filter(t -> t.attr("class").equals("summary"))
                .findFirst().orElseThrow();
        Map<String, String> rows = new LinkedHashMap<>();
        for (MiniXml.Node tr : summary.find("tr")) {
            List<MiniXml.Node> tds = tr.find("td");
            if (!tds.isEmpty()) {
                rows.put(tds.get(0).textContent(), tds.get(1).textContent());
            }
        }
        Map<String, Long> printed = summary(r);
        assertThat(rows.keySet()).containsExactlyElementsOf(printed.keySet());
        assertThat(rows.get("integrity failures")).isEqualTo("0");
        assertThat(html).contains("reclaim scan p99");
    }

    static Stream<Arguments> workloadsAndPolicies() {
        return Stream.of("glmark2", "browser", "compute").flatMap(w -> ReclaimPolicy.builtIns().stream()
                .map(p -> Arguments.of(w, p.name())));
    }

    /** Every workload runs under every built-in policy, deterministically, and counts its refaults. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("workloadsAndPolicies")
    void everyWorkloadRunsUnderEveryPolicy(String workload, String policy) {
        String[] args = {"simulate", "--workload", workload, "--policy", policy, "--seconds", "0.5", "--threads", "1",
            "--seed", "42", "--ram", "8MiB", "--swap", "16MiB"};
        CliRun a = CliRun.of(args);
        assertSound(a);
        assertThat(a.outLines().get(0)).startsWith("simulate: workload=" + workload + " policy=" + policy + " ");
        assertThat(summaryBlock(a)).startsWith("summary: workload=" + workload + " policy=" + policy + " ");
        assertThat(summaryBlock(CliRun.of(args))).isEqualTo(summaryBlock(a));
        Map<String, Long> s = summary(a);
        assertThat(s.get("reclaim scans")).as("%s", a).isPositive();
        assertThat(s.get("refaults (pages swapped in)")).as("%s", a).isLessThanOrEqualTo(s.get("pages evicted"));
        if (workload.equals("compute")) {
            assertThat(s.get("refaults (pages swapped in)")).as("%s", a).isPositive();
        }
    }

    /**
     * {@code --compare} with every built-in policy: one run each with the same seed, in the order given, each
     * summary as a run of its own would print it, then (with more than one) the summaries side by side, and a
     * report with every run.
     */
    @Test
    void compareRunsEachPolicyWithTheSameSeed() throws Exception {
        List<String> names = ReclaimPolicy.builtIns().stream().map(ReclaimPolicy::name).toList();
        Path report = tmp.resolve("compare.html");
        CliRun r = CliRun.of("simulate", "--workload", "compute", "--compare", String.join(",", names),
                "--seconds", "0.5", "--threads", "1", "--seed", "42", "--ram", "8MiB", "--swap", "16MiB",
                "--report", report.toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines().get(0)).startsWith("simulate: workload=compute compare=" + String.join(",", names)
                + " threads=1 seed=42 ");
        List<String> titles = r.outLines().stream().filter(l -> l.startsWith("summary: ")).toList();
        assertThat(titles).hasSize(names.size());
        for (int i = 0; i < names.size(); i++) {
            String alone = summaryBlock(CliRun.of("simulate", "--workload", "compute", "--policy", names.get(i),
                    "--seconds", "0.5", "--threads", "1", "--seed", "42", "--ram", "8MiB", "--swap", "16MiB"));
            assertThat(titles.get(i)).isEqualTo(alone.lines().findFirst().orElseThrow());
            assertThat(r.out()).contains(alone);
        }
        assertThat(r.out().contains("side by side")).isEqualTo(names.size() > 1);
        assertThat(r.lastLine()).isEqualTo("report: " + report);
        assertThat(r.outLines()).contains("simulate: ok");
        MiniXml.Node doc = MiniXml.parse(Files.readString(report, StandardCharsets.UTF_8));
        assertThat(doc.find("section").stream().filter(n -> n.attr("class").equals("run"))).hasSize(names.size());
        assertThat(doc.find("h2").stream().map(MiniXml.Node::textContent).collect(Collectors.joining("\n")))
                .contains(names.stream().map(n -> "policy=" + n).toList());
    }

    private static MiniXml.Node byId(List<MiniXml.Node> nodes, String id) {
        return nodes.stream().filter(n -> n.attr("id").equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError("no element with id " + id));
    }
}
