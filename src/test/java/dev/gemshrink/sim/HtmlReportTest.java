package dev.gemshrink.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import dev.gemshrink.testing.MiniXml;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The report as a person reads it, checked on the page's structure: how it was made at the top, MiB with pages in
 * the hover text, the RAM budget as a line, reclaim as a rate in its own chart whose bars add up to the summary,
 * round axis ticks, the clients stacked, ENOMEM over time, a latency histogram counting every scan, and several
 * runs side by side.
 */
class HtmlReportTest {
    private static final Pattern PAGES = Pattern.compile("(\\d+) pages (purged|evicted)");
    private static final Pattern SCANS = Pattern.compile(": (\\d+) scans");
    private static SimulationResult browser;
    private static SimulationResult compute;

    @BeforeAll
    static void runTwoSimulations() throws Exception {
        browser = new Simulation(SimulationConfig.builder().workload(Workload.BROWSER).threads(1).operations(1_500)
                .ramBytes(8L << 20).swapBytes(16L << 20).seed(3).build()).run();
        compute = new Simulation(SimulationConfig.builder().workload(Workload.COMPUTE).threads(1).operations(150)
                .ramBytes(8L << 20).swapBytes(0).seed(3).build()).run();
        assertThat(browser.ok()).as("%s", browser.failures()).isTrue();
        assertThat(compute.ok()).as("%s", compute.failures()).isTrue();
    }

    private static MiniXml.Node render(List<SimulationResult> runs) {
        ReportHeader h = new ReportHeader("a test report", "gemshrink simulate --seed 3", "1.2.3 (abc1234)",
                Instant.parse("2026-01-02T03:04:05.678Z"), "Some JVM 17");
        String html = HtmlReport.render(h, runs);
        assertThat(html).doesNotContain("<script").doesNotContain("<link").doesNotContain("src=")
                .doesNotContain("href=").doesNotContain("url(");
        return MiniXml.parse(html);
    }

    private static MiniXml.Node svg(MiniXml.Node doc, String id) {
        return doc.find("svg").stream().filter(n -> n.attr("id").equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError("no chart " + id));
    }

    private static List<String> titles(MiniXml.Node n, String tag) {
        List<String> out = new ArrayList<>();
        for (MiniXml.Node e : n.find(tag)) {
            for (MiniXml.Node t : e.find("title")) {
                out.add(t.textContent());
            }
        }
        return out;
    }

    @Test
    void theTopSaysHowTheReportWasMade() {
        String meta = render(List.of(browser)).find("table").get(0).textContent();
        assertThat(meta).contains("gemshrink simulate --seed 3", "1.2.3 (abc1234)", "2026-01-02T03:04:05Z",
                "Some JVM 17");
    }

    @Test
    void memoryIsInMibWithPagesOnHoverAndTheBudgetIsALine() {
        MiniXml.Node memory = svg(render(List.of(browser)), "memory-chart-0");
        assertThat(titles(memory, "line")).containsExactly("RAM budget: 8 MiB (2048 pages)");
        assertThat(memory.find("text").stream().map(MiniXml.Node::textContent)).contains("MiB");
        List<String> hover = titles(memory, "rect");
        assertThat(hover).hasSizeGreaterThan(100);
        assertThat(hover.get(hover.size() - 1)).matches("\\d+ operations: resident [0-9.]+ MiB \\(\\d+ pages\\), "
                + "swapped [0-9.]+ MiB \\(\\d+ pages\\), free [0-9.]+ MiB \\(\\d+ pages\\)");
        assertThat(memory.find("g").stream().map(g -> g.attr("class"))).doesNotContain("reclaim-events");
    }

    @Test
    void reclaimIsARateInItsOwnChartAndItsBarsAddUpToTheSummary() {
        MiniXml.Node reclaim = svg(render(List.of(browser)), "reclaim-chart-0");
        assertThat(reclaim.attr("aria-label")).isEqualTo("Pages reclaimed by the shrinker, MiB per 1000 operations");
        long purged = 0;
        long evicted = 0;
        for (String t : titles(reclaim, "rect")) {
            Matcher m = PAGES.matcher(t);
            assertThat(m.find()).as(t).isTrue();
            if (m.group(2).equals("purged")) {
                purged += Long.parseLong(m.group(1));
            } else {
                evicted += Long.parseLong(m.group(1));
            }
        }
        assertThat(purged).isPositive().isEqualTo(browser.summary().count("pages purged"));
        assertThat(evicted).isEqualTo(browser.summary().count("pages evicted"));
    }

    @Test
    void eachRunNamesItsPolicyAndItsRefaults() {
        MiniXml.Node doc = render(List.of(browser, compute));
        List<MiniXml.Node> notes = doc.find("p").stream().filter(p -> p.attr("class").equals("note refaults"))
                .toList();
        assertThat(notes).hasSize(2);
        assertThat(notes.get(0).textContent()).startsWith("Refaults under the lru policy: " + browser.refaults()
                + " pages (");
        assertThat(notes.get(1).textContent()).startsWith("Refaults under the lru policy: 0 pages (0 MiB)");
        assertThat(doc.find("h2").stream().map(MiniXml.Node::textContent).filter(t -> t.startsWith("Run ")))
                .allMatch(t -> t.contains(" policy=lru "));
    }

    @Test
    void everyAxisHasRoundTicks() {
        MiniXml.Node doc = render(List.of(browser, compute));
        int axes = 0;
        for (MiniXml.Node svg : doc.find("svg")) {
            for (String cls : new String[] {"ytick", "xtick"}) {
                List<Double> ticks = new ArrayList<>();
                for (MiniXml.Node t : svg.find("text")) {
                    if (t.attr("class").equals(cls) && !t.textContent().startsWith("<")) {
                        ticks.add(Double.parseDouble(t.textContent()));
                    }
                }
                if (ticks.size() < 2) {
                    continue;
                }
                axes++;
                double step = ticks.get(1) - ticks.get(0);
                double mag = Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
                assertThat(Math.round(step / mag)).as("%s step %s of %s", cls, step, svg.attr("id"))
                        .isIn(1L, 2L, 5L);
                assertThat(ticks.get(0)).isZero();
                for (int i = 0; i < ticks.size(); i++) {
                    assertThat(ticks.get(i)).isCloseTo(i * step, offset(step * 1e-6));
                }
            }
        }
        assertThat(axes).isGreaterThanOrEqualTo(18);
    }

    @Test
    void clientsAreStackedAndNamedOnHover() {
        MiniXml.Node clients = svg(render(List.of(browser)), "client-chart-0");
        List<String> names = titles(clients, "polygon");
        assertThat(names).containsExactly("browser-0.tab0", "browser-0.tab1", "browser-0.tab2");
        String last = titles(clients, "rect").get(titles(clients, "rect").size() - 1);
        assertThat(last).contains("browser-0.tab0: resident", "browser-0.tab2: resident", " MiB of ");
    }

    @Test
    void enomemIsChartedOverTime() {
        MiniXml.Node enomem = svg(render(List.of(compute)), "enomem-chart-0");
        long total = 0;
        for (String t : titles(enomem, "rect")) {
            total += Long.parseLong(t.replaceAll(".*: (\\d+) ENOMEM", "$1"));
        }
        assertThat(total).as("a working set larger than RAM without swap").isPositive()
                .isEqualTo(compute.summary().count("ENOMEM"));
    }

    @Test
    void theLatencyHistogramCountsEveryScan() {
        MiniXml.Node latency = svg(render(List.of(browser)), "latency-chart-0");
        long scans = 0;
        for (String t : titles(latency, "rect")) {
            Matcher m = SCANS.matcher(t);
            assertThat(m.find()).as(t).isTrue();
            scans += Long.parseLong(m.group(1));
        }
        assertThat(scans).isPositive().isEqualTo(browser.scanNanos().length);
    }

    @Test
    void severalRunsAreShownSideBySide() {
        MiniXml.Node doc = render(List.of(browser, compute));
        MiniXml.Node table = doc.find("table").stream().filter(t -> t.attr("class").equals("compare summary"))
                .findFirst().orElseThrow();
        List<MiniXml.Node> head = table.find("th");
        assertThat(head).hasSize(3);
        assertThat(head.get(1).textContent()).contains("run 1", "workload=browser");
        assertThat(head.get(2).textContent()).contains("run 2", "workload=compute");
        MiniXml.Node ops = table.find("tr").stream().filter(r -> !r.find("td").isEmpty())
                .filter(r -> r.find("td").get(0).textContent().equals("ops"))
                .findFirst().orElseThrow();
        assertThat(ops.find("td").get(1).textContent()).isEqualTo(browser.summary().rows().get(0).value());
        assertThat(ops.find("td").get(2).textContent()).isEqualTo(compute.summary().rows().get(0).value());
        assertThat(doc.find("svg").stream().map(s -> s.attr("id"))).contains("memory-chart-0", "memory-chart-1");
        assertThat(render(List.of(browser)).find("table").stream().map(t -> t.attr("class")))
                .doesNotContain("compare summary");
    }
}
