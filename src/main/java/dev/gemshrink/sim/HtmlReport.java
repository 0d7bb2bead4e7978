package dev.gemshrink.sim;

import dev.gemshrink.memory.PagePool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * Writes the report of one or more {@link Simulation} runs: one self-contained, well-formed (XHTML-compatible) HTML
 * file with inline SVG charts and no script or external resource. At the top: the command line, version, date and
 * JVM; with several runs, their summaries side by side. Per run: memory over time in MiB with the RAM budget as a
 * line (pages in the hover text), the reclaim rate, each client's resident memory (stacked), the ENOMEM rate, a
 * histogram of shrinker scan latencies, and the summary, timings and failures.
 */
public final class HtmlReport {
    private static final int W = 960;
    private static final int H = 300;
    private static final int LEFT = 80;
    private static final int RIGHT = 190;
    private static final int TOP = 20;
    private static final int BOTTOM = 50;
    private static final int MAX_POINTS = 1500;
    /** Samples kept for bars, hover strips and the stacked client chart; counts between them stay exact. */
    private static final int MAX_INTERVALS = 300;
    private static final int MAX_CLIENTS = 8;
    /** The band of the client chart that sums the clients not charted on their own. */
    private static final String OTHERS = "other clients";
    private static final int MAX_LATENCY_LABELS = 12;
    private static final double MIB = 1 << 20;
    private static final String RESIDENT = "#1f77b4";
    private static final String SWAPPED = "#d62728";
    private static final String FREE = "#2ca02c";
    private static final String BUDGET = "#555555";
    private static final String PURGED = "#ff7f0e";
    private static final String ENOMEM = "#9467bd";
    private static final String[] CLIENT_COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f"};
    /** Upper edges of the scan latency buckets in nanoseconds: 1, 2, 5 per decade from 1 µs to 10 s. */
    private static final long[] LATENCY_EDGES = latencyEdges();

    private HtmlReport() {
    }

    /**
     * Writes the report of one or more runs (several are shown side by side).
     *
     * @param path   where
     * @param header the title and how the runs were made
     * @param runs   the results, at least one
     * @throws IOException when the file cannot be written
     */
    public static void write(Path path, ReportHeader header, List<SimulationResult> runs) throws IOException {
        Files.writeString(path, render(header, runs), StandardCharsets.UTF_8);
    }

    /**
     * Renders the report of one or more runs.
     *
     * @param header the title and how the runs were made
     * @param runs   the results, at least one
     * @return the whole HTML page
     * @throws IllegalArgumentException when there is no run
     */
    public static String render(ReportHeader header, List<SimulationResult> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("a report needs at least one run");
        }
        StringBuilder b = new StringBuilder(128 * 1024);
        b.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
                .append("<meta charset=\"utf-8\"/>\n<title>").append(esc(header.title())).append("</title>\n")
                .append("<style>\n")
                .append("body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1000px; }\n")
                .append("table { border-collapse: collapse; margin-bottom: 1.5em; }\n")
                .append("th, td { border: 1px solid #bbb; padding: 0.25em 0.8em; text-align: left; }\n")
                .append("td.value { text-align: right; font-family: monospace; }\n")
                .append("table.meta code { white-space: pre-wrap; }\n")
                .append("svg text { font-size: 12px; fill: #333; }\n")
                .append("svg .grid { stroke: #e5e5e5; }\n")
                .append("svg .hover:hover { fill: #000; fill-opacity: 0.06; }\n")
                .append(".note { color: #666; font-size: 0.9em; }\n")
                .append("</style>\n</head>\n<body>\n");
        b.append("<h1>").append(esc(header.title())).append("</h1>\n");
        b.append("<table class=\"meta\">\n");
        meta(b, "command", header.commandLine().isEmpty() ? "(run from Java)" : header.commandLine(), true);
        meta(b, "version", header.version().isEmpty() ? "unknown" : header.version(), false);
        meta(b, "date", DateTimeFormatter.ISO_INSTANT.format(header.date().truncatedTo(ChronoUnit.SECONDS)
                .atOffset(ZoneOffset.UTC)), false);
        meta(b, "JVM", header.jvm(), false);
        b.append("</table>\n");
        if (runs.size() > 1) {
            b.append("<h2>Runs side by side</h2>\n");
            compare(b, "compare summary", runs, true);
            compare(b, "compare timings", runs, false);
        }
        for (int i = 0; i < runs.size(); i++) {
            run(b, runs.get(i), runs.size() > 1 ? "Run " + (i + 1) + ": " : "", i);
        }
        b.append("</body>\n</html>\n");
        return b.toString();
    }

    private static void meta(StringBuilder b, String name, String value, boolean code) {
        b.append("<tr><th>").append(name).append("</th><td>").append(code ? "<code>" : "").append(esc(value))
                .append(code ? "</code>" : "").append("</td></tr>\n");
    }

    private static void run(StringBuilder b, SimulationResult r, String prefix, int index) {
        Timeline tl = r.timeline();
        Summary summary = r.summary();
        List<Timeline.Sample> samples = tl.samples();
        List<Timeline.Sample> coarse = thin(samples, MAX_INTERVALS);
        String id = "-" + index;
        Rate rate = tl.xLabel().equals("seconds") ? new Rate("per second", 1) : new Rate("per 1000 operations",
                1000);
        b.append("<section class=\"run\" id=\"run").append(id).append("\">\n");
        SimulationConfig c = r.config();
        b.append("<h2>").append(esc(prefix)).append(esc(c.toString())).append(esc(c.deterministic()
                ? " budget=" + c.operations() + " operations" : " duration=" + num(c.seconds()) + " s"))
                .append("</h2>\n");
        b.append("<h3>Memory over time</h3>\n");
        memoryChart(b, id, tl, samples, coarse);
        b.append("<p class=\"note\">Resident: RAM holding BO contents. Swapped: contents held in swap. Free: RAM not "
                + "in use. The dashed line is the RAM budget. Hover over the chart for the values in pages.</p>\n");
        b.append("<h3>Reclaim rate</h3>\n");
        reclaimChart(b, id, tl, coarse, rate);
        b.append("<p class=\"note refaults\">Refaults under the ").append(esc(c.policy().name()))
                .append(" policy: ").append(r.refaults()).append(" pages (").append(num(mib(r.refaults())))
                .append(" MiB) read back from swap, each evicted earlier and used again.</p>\n");
        b.append("<h3>Resident memory per client</h3>\n");
        clientChart(b, id, tl, coarse);
        b.append("<p class=\"note\">Each client's BOs held in RAM (as its fdinfo's drm-resident-memory counts "
                + "them), stacked; hover for the resident and total memory of every client.</p>\n");
        b.append("<h3>ENOMEM over time</h3>\n");
        enomemChart(b, id, tl, coarse, rate);
        b.append("<h3>Shrinker scan latency</h3>\n");
        latencyChart(b, id, r.scanNanos());
        b.append("<h3>Summary</h3>\n");
        table(b, "summary", summary.rows());
        b.append("<h3>Timings</h3>\n<p class=\"note\">Wall-clock figures: they differ from run to run, so they "
                + "are kept out of the summary.</p>\n");
        table(b, "timings", summary.timings());
        if (!summary.failures().isEmpty()) {
            b.append("<h3>Failures</h3>\n<ul class=\"failures\">\n");
            for (String f : summary.failures()) {
                b.append("<li>").append(esc(f)).append("</li>\n");
            }
            b.append("</ul>\n");
        }
        b.append("</section>\n");
    }

    // ------------------------------------------------------------------ charts

    private static void memoryChart(StringBuilder b, String id, Timeline tl, List<Timeline.Sample> samples,
            List<Timeline.Sample> coarse) {
        long yMax = tl.ramPages();
        for (Timeline.Sample s : samples) {
            yMax = Math.max(yMax, Math.max(s.swapped(), s.resident() + s.free()));
        }
        Scale sc = new Scale(Axis.of(xMax(samples)), Axis.of(mib(yMax)));
        open(b, "memory-chart" + id, "memory-chart", "Resident, swapped and free memory (MiB) over " + tl.xLabel());
        axes(b, sc, tl.xLabel(), "MiB");
        double budget = sc.y(mib(tl.ramPages()));
        b.append(String.format(Locale.ROOT, "<line class=\"ram-budget\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                + "stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"><title>RAM budget: %s MiB (%d "
                + "pages)</title></line>\n", LEFT, budget, W - RIGHT, budget, BUDGET, num(mib(tl.ramPages())),
                tl.ramPages()));
        List<Timeline.Sample> pts = thin(samples, MAX_POINTS);
        series(b, "resident", RESIDENT, pts, sc, Timeline.Sample::resident);
        series(b, "swapped", SWAPPED, pts, sc, Timeline.Sample::swapped);
        series(b, "free", FREE, pts, sc, Timeline.Sample::free);
        hover(b, sc, coarse, s -> String.format(Locale.ROOT, "%s %s: resident %s MiB (%d pages), swapped %s MiB "
                + "(%d pages), free %s MiB (%d pages)", num(s.x()), tl.xLabel(), mib1(s.resident()), s.resident(),
                mib1(s.swapped()), s.swapped(), mib1(s.free()), s.free()));
        legend(b, new String[] {"resident", "swapped", "free", "RAM budget"},
                new String[] {RESIDENT, SWAPPED, FREE, BUDGET});
        b.append("</svg>\n");
    }

    private static void reclaimChart(StringBuilder b, String id, Timeline tl, List<Timeline.Sample> coarse,
            Rate rate) {
        double peak = rate.peak(coarse, s -> mib(s.purged() + s.evicted()));
        Scale sc = new Scale(Axis.of(xMax(coarse)), Axis.of(peak));
        open(b, "reclaim-chart" + id, "reclaim-chart", "Pages reclaimed by the shrinker, MiB " + rate.label);
        axes(b, sc, tl.xLabel(), "MiB reclaimed " + rate.label);
        b.append("<g class=\"reclaim-bars\">\n");
        for (int i = 1; i < coarse.size(); i++) {
            Timeline.Sample a = coarse.get(i - 1);
            Timeline.Sample c = coarse.get(i);
            long purged = c.purged() - a.purged();
            long evicted = c.evicted() - a.evicted();
            if (purged + evicted == 0 || c.x() <= a.x()) {
                continue;
            }
            double x0 = sc.x(a.x());
            double w = Math.max(1, sc.x(c.x()) - x0);
            double yp = sc.y(rate.of(mib(purged), a, c));
            double ye = sc.y(rate.of(mib(purged + evicted), a, c));
            String when = num(a.x()) + "–" + num(c.x()) + " " + tl.xLabel();
            b.append(String.format(Locale.ROOT, "<rect class=\"purged\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    + "height=\"%.1f\" fill=\"%s\"><title>%s: %d pages purged (%s MiB %s)</title></rect>\n",
                    x0, yp, w, sc.y(0) - yp, PURGED, when, purged, num(rate.of(mib(purged), a, c)),
                    rate.label));
            b.append(String.format(Locale.ROOT, "<rect class=\"evicted\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    + "height=\"%.1f\" fill=\"%s\"><title>%s: %d pages evicted (%s MiB %s)</title></rect>\n",
                    x0, ye, w, yp - ye, SWAPPED, when, evicted, num(rate.of(mib(evicted), a, c)), rate.label));
        }
        b.append("</g>\n");
        legend(b, new String[] {"purged", "evicted"}, new String[] {PURGED, SWAPPED});
        b.append("</svg>\n");
    }

    private static void clientChart(StringBuilder b, String id, Timeline tl, List<Timeline.Sample> coarse) {
        List<String> names = topClients(coarse);
        double yMax = 0;
        for (Timeline.Sample s : coarse) {
            long sum = 0;
            for (ClientUsage c : s.clients()) {
                sum += c.residentBytes();
            }
            yMax = Math.max(yMax, sum / MIB);
        }
        Scale sc = new Scale(Axis.of(xMax(coarse)), Axis.of(yMax));
        open(b, "client-chart" + id, "client-chart", "Resident memory per client (MiB, stacked) over "
                + tl.xLabel());
        axes(b, sc, tl.xLabel(), "MiB resident");
        double[] below = new double[coarse.size()];
        b.append("<g class=\"clients\">\n");
        for (int k = 0; k < names.size(); k++) {
            double[] top = new double[coarse.size()];
            for (int i = 0; i < coarse.size(); i++) {
                top[i] = below[i] + resident(coarse.get(i), names.get(k), names) / MIB;
            }
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < coarse.size(); i++) {
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", sc.x(coarse.get(i).x()), sc.y(top[i])));
            }
            for (int i = coarse.size() - 1; i >= 0; i--) {
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", sc.x(coarse.get(i).x()), sc.y(below[i])));
            }
            b.append("<polygon class=\"client\" fill=\"").append(CLIENT_COLORS[k % CLIENT_COLORS.length])
                    .append("\" fill-opacity=\"0.75\" points=\"").append(pts.toString().strip()).append("\"><title>")
                    .append(esc(names.get(k))).append("</title></polygon>\n");
            below = top;
        }
        b.append("</g>\n");
        hover(b, sc, coarse, s -> {
            StringBuilder t = new StringBuilder(num(s.x()) + " " + tl.xLabel() + ":");
            for (ClientUsage c : s.clients()) {
                t.append("\n").append(c.client()).append(": resident ").append(mib1(c.residentBytes() / MIB))
                        .append(" MiB of ").append(mib1(c.totalBytes() / MIB)).append(" MiB");
            }
            return t.toString();
        });
        legend(b, names.toArray(new String[0]), CLIENT_COLORS);
        b.append("</svg>\n");
    }

    private static void enomemChart(StringBuilder b, String id, Timeline tl, List<Timeline.Sample> coarse,
            Rate rate) {
        double peak = rate.peak(coarse, Timeline.Sample::enomem);
        long total = coarse.isEmpty() ? 0 : coarse.get(coarse.size() - 1).enomem() - coarse.get(0).enomem();
        Scale sc = new Scale(Axis.of(xMax(coarse)), Axis.of(peak));
        open(b, "enomem-chart" + id, "enomem-chart", "Calls and jobs failing with ENOMEM, " + rate.label + " ("
                + total + " in all)");
        axes(b, sc, tl.xLabel(), "ENOMEM " + rate.label);
        b.append("<g class=\"enomem-bars\">\n");
        for (int i = 1; i < coarse.size(); i++) {
            Timeline.Sample a = coarse.get(i - 1);
            Timeline.Sample c = coarse.get(i);
            long n = c.enomem() - a.enomem();
            if (n == 0 || c.x() <= a.x()) {
                continue;
            }
            double x0 = sc.x(a.x());
            double y = sc.y(rate.of(n, a, c));
            b.append(String.format(Locale.ROOT, "<rect class=\"enomem\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    + "height=\"%.1f\" fill=\"%s\"><title>%s–%s %s: %d ENOMEM</title></rect>\n", x0, y,
                    Math.max(1, sc.x(c.x()) - x0), sc.y(0) - y, ENOMEM, num(a.x()), num(c.x()), tl.xLabel(), n));
        }
        b.append("</g>\n");
        legend(b, new String[] {"ENOMEM"}, new String[] {ENOMEM});
        b.append("</svg>\n");
    }

    private static void latencyChart(StringBuilder b, String id, long[] scans) {
        long[] counts = new long[LATENCY_EDGES.length];
        for (long n : scans) {
            int i = 0;
            while (i < LATENCY_EDGES.length - 1 && n >= LATENCY_EDGES[i]) {
                i++;
            }
            counts[i]++;
        }
        int first = 0;
        int last = 3;
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] > 0) {
                last = Math.max(last, i);
            }
        }
        while (first < last - 3 && counts[first] == 0) {
            first++;
        }
        long peak = 0;
        for (long c : counts) {
            peak = Math.max(peak, c);
        }
        int buckets = last - first + 1;
        Axis y = Axis.of(peak);
        Scale sc = new Scale(new Axis(buckets, buckets), y);
        open(b, "latency-chart" + id, "latency-chart", "Shrinker scans by duration (" + scans.length + " scans)");
        axes(b, sc, null, "scans");
        double slot = (double) (W - LEFT - RIGHT) / buckets;
        int labelEvery = (buckets + MAX_LATENCY_LABELS - 1) / MAX_LATENCY_LABELS;
        b.append("<g class=\"latency-bars\">\n");
        for (int i = first; i <= last; i++) {
            double x = LEFT + (i - first) * slot;
            String range = (i == 0 ? "0" : duration(LATENCY_EDGES[i - 1])) + "–" + duration(LATENCY_EDGES[i]);
            if ((i - first) % labelEvery == 0) {
                b.append(String.format(Locale.ROOT, "<text class=\"xtick\" x=\"%.1f\" y=\"%d\" "
                        + "text-anchor=\"middle\">%s</text>\n", x + slot / 2, H - BOTTOM + 16,
                        esc("<" + duration(LATENCY_EDGES[i]))));
            }
            if (counts[i] > 0) {
                double top = sc.y(counts[i]);
                b.append(String.format(Locale.ROOT, "<rect class=\"latency\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                        + "height=\"%.1f\" fill=\"%s\"><title>%s: %d scans</title></rect>\n", x + slot * 0.1, top,
                        slot * 0.8, sc.y(0) - top, RESIDENT, range, counts[i]));
            }
        }
        b.append("</g>\n");
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">scan duration</text>\n",
                (LEFT + W - RIGHT) / 2, H - 12));
        b.append("</svg>\n");
    }

    // ------------------------------------------------------------------ chart parts

    /** A rate of change between two samples: per second of x, or per 1000 operations of x. */
    private record Rate(String label, double perUnits) {
        double of(double amount, Timeline.Sample a, Timeline.Sample c) {
            double dx = c.x() - a.x();
            return dx <= 0 ? 0 : amount / dx * perUnits;
        }

        /** The highest rate of a cumulative count between consecutive samples. */
        double peak(List<Timeline.Sample> samples, ToDoubleFunction<Timeline.Sample> cumulative) {
            double peak = 0;
            for (int i = 1; i < samples.size(); i++) {
                Timeline.Sample a = samples.get(i - 1);
                Timeline.Sample c = samples.get(i);
                peak = Math.max(peak, of(cumulative.applyAsDouble(c) - cumulative.applyAsDouble(a), a, c));
            }
            return peak;
        }
    }

    /**
     * An axis from 0 to {@code max} with a tick every {@code step}: the smallest round step (1, 2 or 5 times 10^k)
     * that covers the data in at most {@value #MAX_TICKS} intervals, so the axis ends close above the data.
     */
    private record Axis(double max, double step) {
        private static final int MAX_TICKS = 6;

        static Axis of(double dataMax) {
            double m = dataMax > 0 ? dataMax : 1;
            double mag = Math.pow(10, Math.floor(Math.log10(m / MAX_TICKS)));
            for (int i = 0; ; i++) {
                double step = new double[] {1, 2, 5}[i % 3] * mag * Math.pow(10, i / 3);
                double intervals = Math.ceil(m / step - 1e-9);
                if (intervals <= MAX_TICKS) {
                    return new Axis(intervals * step, step);
                }
            }
        }

        int ticks() {
            return (int) Math.round(max / step);
        }
    }

    /** Maps data coordinates to the plot area. */
    private record Scale(Axis xAxis, Axis yAxis) {
        double x(double v) {
            return LEFT + v / xAxis.max() * (W - LEFT - RIGHT);
        }

        double y(double v) {
            return H - BOTTOM - v / yAxis.max() * (H - TOP - BOTTOM);
        }
    }

    private static void open(StringBuilder b, String id, String cls, String label) {
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"").append(id).append("\" class=\"chart ")
                .append(cls).append("\" width=\"").append(W).append("\" height=\"").append(H)
                .append("\" viewBox=\"0 0 ").append(W).append(' ').append(H).append("\" role=\"img\" aria-label=\"")
                .append(esc(label)).append("\">\n").append("<title>").append(esc(label)).append("</title>\n");
        b.append(String.format(Locale.ROOT, "<text class=\"chart-title\" x=\"%d\" y=\"12\">%s</text>\n", LEFT,
                esc(label)));
    }

    /** Grid lines and round tick labels; no x ticks when {@code xLabel} is null (the caller labels categories). */
    private static void axes(StringBuilder b, Scale sc, String xLabel, String yLabel) {
        b.append("<g class=\"axes\">\n");
        for (int i = 0; i <= sc.yAxis().ticks(); i++) {
            double v = sc.yAxis().step() * i;
            double y = sc.y(v);
            b.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                    + "<text class=\"ytick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                    LEFT, y, W - RIGHT, y, LEFT - 6, y + 4, num(v)));
        }
        if (xLabel != null) {
            for (int i = 0; i <= sc.xAxis().ticks(); i++) {
                double v = sc.xAxis().step() * i;
                double x = sc.x(v);
                b.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                        + "y2=\"%d\"/><text class=\"xtick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                        x, TOP, x, H - BOTTOM, x, H - BOTTOM + 16, num(v)));
            }
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                    (LEFT + W - RIGHT) / 2, H - 12, esc(xLabel)));
        }
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>"
                + "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n",
                LEFT, TOP, LEFT, H - BOTTOM, LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM));
        b.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 16 %d)\">%s</text>\n", (TOP + H - BOTTOM) / 2, (TOP + H - BOTTOM) / 2,
                esc(yLabel)));
        b.append("</g>\n");
    }

    private static void series(StringBuilder b, String name, String color, List<Timeline.Sample> pts, Scale sc,
            ToLongFunction<Timeline.Sample> pages) {
        b.append("<polyline class=\"series ").append(name).append("\" fill=\"none\" stroke=\"").append(color)
                .append("\" stroke-width=\"2\" points=\"");
        for (Timeline.Sample s : pts) {
            b.append(String.format(Locale.ROOT, "%.1f,%.1f ", sc.x(s.x()), sc.y(mib(pages.applyAsLong(s)))));
        }
        b.append("\"><title>").append(name).append(" (MiB)</title></polyline>\n");
    }

    /** Invisible vertical strips, one per sample, whose hover text gives that sample's values. */
    private static void hover(StringBuilder b, Scale sc, List<Timeline.Sample> coarse,
            Function<Timeline.Sample, String> text) {
        b.append("<g class=\"hover-strips\">\n");
        for (int i = 0; i < coarse.size(); i++) {
            double x = sc.x(coarse.get(i).x());
            double left = i == 0 ? x : (x + sc.x(coarse.get(i - 1).x())) / 2;
            double right = i == coarse.size() - 1 ? x : (x + sc.x(coarse.get(i + 1).x())) / 2;
            b.append(String.format(Locale.ROOT, "<rect class=\"hover\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                    + "height=\"%d\" fill=\"#000\" fill-opacity=\"0\"><title>%s</title></rect>\n", left, TOP,
                    Math.max(1, right - left), H - TOP - BOTTOM, esc(text.apply(coarse.get(i)))));
        }
        b.append("</g>\n");
    }

    private static void legend(StringBuilder b, String[] names, String[] colors) {
        b.append("<g class=\"legend\">\n");
        for (int i = 0; i < names.length; i++) {
            int y = TOP + 10 + i * 20;
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"8\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>\n", W - RIGHT + 16, y, colors[i % colors.length],
                    W - RIGHT + 36, y + 8, esc(names[i])));
        }
        b.append("</g>\n");
    }

    // ------------------------------------------------------------------ tables

    private static void table(StringBuilder b, String cls, List<Summary.Row> rows) {
        b.append("<table class=\"").append(cls).append("\">\n<thead><tr><th>metric</th><th>value</th></tr></thead>\n")
                .append("<tbody>\n");
        for (Summary.Row r : rows) {
            b.append("<tr><td>").append(esc(r.metric())).append("</td><td class=\"value\">").append(esc(r.value()))
                    .append("</td></tr>\n");
        }
        b.append("</tbody>\n</table>\n");
    }

    /** One table, a column per run: the summary rows, or the timings. */
    private static void compare(StringBuilder b, String cls, List<SimulationResult> runs, boolean summary) {
        Map<String, String[]> rows = new LinkedHashMap<>();
        for (int i = 0; i < runs.size(); i++) {
            Summary s = runs.get(i).summary();
            for (Summary.Row r : summary ? s.rows() : s.timings()) {
                rows.computeIfAbsent(r.metric(), m -> new String[runs.size()])[i] = r.value();
            }
        }
        b.append("<table class=\"").append(cls).append("\">\n<thead><tr><th>").append(summary ? "metric" : "timing")
                .append("</th>");
        for (int i = 0; i < runs.size(); i++) {
            b.append("<th>run ").append(i + 1).append("<br/><span class=\"note\">")
                    .append(esc(runs.get(i).config().toString())).append("</span></th>");
        }
        b.append("</tr></thead>\n<tbody>\n");
        for (Map.Entry<String, String[]> e : rows.entrySet()) {
            b.append("<tr><td>").append(esc(e.getKey())).append("</td>");
            for (String v : e.getValue()) {
                b.append("<td class=\"value\">").append(v == null ? "" : esc(v)).append("</td>");
            }
            b.append("</tr>\n");
        }
        b.append("</tbody>\n</table>\n");
    }

    // ------------------------------------------------------------------ helpers

    /** The clients with the highest peak resident memory, at most {@value #MAX_CLIENTS}, in order of name. */
    private static List<String> topClients(List<Timeline.Sample> samples) {
        Map<String, Long> peak = new TreeMap<>();
        for (Timeline.Sample s : samples) {
            for (ClientUsage c : s.clients()) {
                peak.merge(c.client(), c.residentBytes(), Math::max);
            }
        }
        if (peak.size() <= MAX_CLIENTS) {
            return new ArrayList<>(peak.keySet());
        }
        Set<String> keep = new LinkedHashSet<>();
        peak.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()))
                .limit(MAX_CLIENTS - 1).forEach(e -> keep.add(e.getKey()));
        List<String> out = new ArrayList<>();
        for (String n : peak.keySet()) {
            if (keep.contains(n)) {
                out.add(n);
            }
        }
        out.add(OTHERS);
        return out;
    }

    /** A client's resident bytes in a sample; for {@link #OTHERS}, those of every client not named. */
    private static long resident(Timeline.Sample s, String name, List<String> named) {
        long sum = 0;
        for (ClientUsage c : s.clients()) {
            boolean others = name.equals(OTHERS) && !named.contains(c.client());
            if (others || c.client().equals(name)) {
                sum += c.residentBytes();
            }
        }
        return sum;
    }

    private static double xMax(List<Timeline.Sample> samples) {
        return samples.isEmpty() ? 1 : Math.max(1e-9, samples.get(samples.size() - 1).x());
    }

    private static double mib(long pages) {
        return pages * (double) PagePool.PAGE_SIZE / MIB;
    }

    private static String mib1(double mib) {
        return String.format(Locale.ROOT, "%.1f", mib);
    }

    private static String mib1(long pages) {
        return mib1(mib(pages));
    }

    private static <T> List<T> thin(List<T> all, int max) {
        if (all.size() <= max) {
            return all;
        }
        List<T> out = new ArrayList<>(max + 1);
        double step = (double) all.size() / max;
        for (int i = 0; i < max; i++) {
            out.add(all.get((int) (i * step)));
        }
        out.add(all.get(all.size() - 1));
        return out;
    }

    private static long[] latencyEdges() {
        List<Long> edges = new ArrayList<>();
        for (long decade = 1_000; decade <= 1_000_000_000L; decade *= 10) {
            edges.add(decade);
            edges.add(2 * decade);
            edges.add(5 * decade);
        }
        edges.add(10_000_000_000L);
        return edges.stream().mapToLong(Long::longValue).toArray();
    }

    private static String duration(long nanos) {
        if (nanos >= 1_000_000_000L) {
            return num(nanos / 1e9) + " s";
        }
        if (nanos >= 1_000_000) {
            return num(nanos / 1e6) + " ms";
        }
        return num(nanos / 1e3) + " µs";
    }

    /** A tick or value label: no decimals for whole numbers, else up to three significant decimals. */
    private static String num(double v) {
        if (Math.abs(v - Math.rint(v)) < 1e-9) {
            return Long.toString(Math.round(v));
        }
        String s = String.format(Locale.ROOT, Math.abs(v) >= 10 ? "%.1f" : Math.abs(v) >= 1 ? "%.2f" : "%.3f", v);
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<':
                    b.append("&lt;");
                    break;
                case '>':
                    b.append("&gt;");
                    break;
                case '&':
                    b.append("&amp;");
                    break;
                case '"':
                    b.append("&quot;");
                    break;
                default:
                    b.append(c < 0x20 && c != '\n' && c != '\t' ? ' ' : c);
            }
        }
        return b.toString();
    }
}
