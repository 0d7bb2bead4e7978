package dev.gemshrink.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Writes the report of a {@link Simulation}: one self-contained, well-formed (XHTML-compatible) HTML file with no
 * external resources. It charts resident, swapped and free pages over time as inline SVG polylines with the
 * reclaim events marked, charts the pages purged and evicted per interval, and repeats the summary and timings.
 */
public final class HtmlReport {
    private static final int W = 960;
    private static final int H = 360;
    private static final int LEFT = 70;
    private static final int RIGHT = 150;
    private static final int TOP = 20;
    private static final int BOTTOM = 50;
    private static final int MAX_POINTS = 1500;
    private static final int MAX_EVENTS = 600;
    private static final String RESIDENT = "#1f77b4";
    private static final String SWAPPED = "#d62728";
    private static final String FREE = "#2ca02c";
    private static final String RECLAIM = "#ff7f0e";

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
        String title = header.title();
        Timeline timeline = runs.get(0).timeline();
        Summary summary = runs.get(0).summary();
        StringBuilder b = new StringBuilder(64 * 1024);
        b.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
                .append("<meta charset=\"utf-8\"/>\n<title>").append(esc(title)).append("</title>\n")
                .append("<style>\n")
                .append("body { font-family: sans-serif; margin: 2em; color: #222; }\n")
                .append("table { border-collapse: collapse; margin-bottom: 1.5em; }\n")
                .append("th, td { border: 1px solid #bbb; padding: 0.25em 0.8em; }\n")
                .append("td.value { text-align: right; font-family: monospace; }\n")
                .append("svg text { font-size: 12px; fill: #333; }\n")
                .append(".grid { stroke: #e5e5e5; }\n")
                .append(".note { color: #666; font-size: 0.9em; }\n")
                .append("</style>\n</head>\n<body>\n");
        b.append("<h1>").append(esc(title)).append("</h1>\n");
        b.append("<p>").append(esc(summary.title())).append("</p>\n");
        List<Timeline.Sample> samples = timeline.samples();
        List<Timeline.ReclaimEvent> events = timeline.events();
        b.append("<h2>Memory over time</h2>\n");
        memoryChart(b, timeline, samples, events);
        b.append("<p class=\"note\">Resident: pages of RAM holding BO contents. Swapped: pages held in swap. Free: "
                + "RAM pages not in use. Orange marks: intervals in which the shrinker scanned (hover for "
                + "details).</p>\n");
        b.append("<h2>Reclaim activity</h2>\n");
        reclaimChart(b, timeline, events);
        b.append("<h2>Summary</h2>\n");
        table(b, "summary", summary.rows());
        b.append("<h2>Timings</h2>\n<p class=\"note\">Wall-clock figures: they differ from run to run, so they "
                + "are kept out of the summary.</p>\n");
        table(b, "timings", summary.timings());
        if (!summary.failures().isEmpty()) {
            b.append("<h2>Failures</h2>\n<ul class=\"failures\">\n");
            for (String f : summary.failures()) {
                b.append("<li>").append(esc(f)).append("</li>\n");
            }
            b.append("</ul>\n");
        }
        b.append("</body>\n</html>\n");
        return b.toString();
    }

    private static void memoryChart(StringBuilder b, Timeline tl, List<Timeline.Sample> samples,
            List<Timeline.ReclaimEvent> events) {
        double xMax = samples.isEmpty() ? 1 : Math.max(1e-9, samples.get(samples.size() - 1).x());
        long yMax = tl.ramPages();
        for (Timeline.Sample s : samples) {
            yMax = Math.max(yMax, s.swapped());
        }
        Scale sc = new Scale(xMax, Math.max(1, yMax));
        open(b, "memory-chart", "Resident, swapped and free pages over " + tl.xLabel());
        axes(b, sc, tl.xLabel(), "pages");
        List<Timeline.Sample> pts = thin(samples, MAX_POINTS);
        b.append("<g class=\"reclaim-events\">\n");
        for (Timeline.ReclaimEvent e : thin(events, MAX_EVENTS)) {
            double x = sc.x(e.x());
            b.append(String.format(Locale.ROOT, "<line class=\"reclaim\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                    + "y2=\"%d\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"3,2\" opacity=\"0.6\">"
                    + "<title>reclaim at %s %s: %d scans, %d pages purged, %d evicted</title></line>\n",
                    x, TOP, x, H - BOTTOM, RECLAIM, num(e.x()), esc(tl.xLabel()), e.scans(), e.purged(),
                    e.evicted()));
        }
        b.append("</g>\n");
        series(b, "resident", RESIDENT, pts, sc, 0);
        series(b, "swapped", SWAPPED, pts, sc, 1);
        series(b, "free", FREE, pts, sc, 2);
        legend(b, new String[] {"resident", "swapped", "free", "reclaim"},
                new String[] {RESIDENT, SWAPPED, FREE, RECLAIM});
        b.append("</svg>\n");
    }

    private static void reclaimChart(StringBuilder b, Timeline tl, List<Timeline.ReclaimEvent> events) {
        List<Timeline.Sample> samples = tl.samples();
        double xMax = samples.isEmpty() ? 1 : Math.max(1e-9, samples.get(samples.size() - 1).x());
        long yMax = 1;
        for (Timeline.ReclaimEvent e : events) {
            yMax = Math.max(yMax, e.purged() + e.evicted());
        }
        Scale sc = new Scale(xMax, yMax);
        open(b, "reclaim-chart", "Pages purged and evicted per sampling interval");
        axes(b, sc, tl.xLabel(), "pages reclaimed");
        double bar = Math.max(1.5, (W - LEFT - RIGHT) / Math.max(1.0, samples.size()) * 0.8);
        b.append("<g class=\"reclaim-bars\">\n");
        for (Timeline.ReclaimEvent e : thin(events, MAX_EVENTS)) {
            double x = sc.x(e.x()) - bar / 2;
            double yp = sc.y(e.purged());
            double ye = sc.y(e.purged() + e.evicted());
            b.append(String.format(Locale.ROOT, "<rect class=\"purged\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    + "height=\"%.1f\" fill=\"%s\"><title>%d pages purged</title></rect>\n",
                    x, yp, bar, sc.y(0) - yp, RECLAIM, e.purged()));
            b.append(String.format(Locale.ROOT, "<rect class=\"evicted\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    + "height=\"%.1f\" fill=\"%s\"><title>%d pages evicted</title></rect>\n",
                    x, ye, bar, yp - ye, SWAPPED, e.evicted()));
        }
        b.append("</g>\n");
        legend(b, new String[] {"purged", "evicted"}, new String[] {RECLAIM, SWAPPED});
        b.append("</svg>\n");
    }

    /** Maps data coordinates to the plot area. */
    private record Scale(double xMax, double yMax) {
        double x(double v) {
            return LEFT + v / xMax * (W - LEFT - RIGHT);
        }

        double y(double v) {
            return H - BOTTOM - v / yMax * (H - TOP - BOTTOM);
        }
    }

    private static void open(StringBuilder b, String id, String label) {
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"").append(id).append("\" class=\"chart\" width=\"")
                .append(W).append("\" height=\"").append(H).append("\" viewBox=\"0 0 ").append(W).append(' ')
                .append(H).append("\" role=\"img\" aria-label=\"").append(esc(label)).append("\">\n")
                .append("<title>").append(esc(label)).append("</title>\n");
    }

    private static void axes(StringBuilder b, Scale sc, String xLabel, String yLabel) {
        b.append("<g class=\"axes\">\n");
        for (int i = 0; i <= 4; i++) {
            double v = sc.yMax() * i / 4;
            double y = sc.y(v);
            b.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                    LEFT, y, W - RIGHT, y, LEFT - 6, y + 4, num(v)));
        }
        for (int i = 0; i <= 5; i++) {
            double v = sc.xMax() * i / 5;
            double x = sc.x(v);
            b.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                    x, TOP, x, H - BOTTOM, x, H - BOTTOM + 16, num(v)));
        }
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>"
                + "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n",
                LEFT, TOP, LEFT, H - BOTTOM, LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                (LEFT + W - RIGHT) / 2, H - 12, esc(xLabel)));
        b.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 14 %d)\">%s</text>\n", (TOP + H - BOTTOM) / 2, (TOP + H - BOTTOM) / 2,
                esc(yLabel)));
        b.append("</g>\n");
    }

    private static void series(StringBuilder b, String name, String color, List<Timeline.Sample> pts, Scale sc,
            int which) {
        b.append("<polyline class=\"series ").append(name).append("\" fill=\"none\" stroke=\"").append(color)
                .append("\" stroke-width=\"2\" points=\"");
        for (Timeline.Sample s : pts) {
            long v = which == 0 ? s.resident() : which == 1 ? s.swapped() : s.free();
            b.append(String.format(Locale.ROOT, "%.1f,%.1f ", sc.x(s.x()), sc.y(v)));
        }
        b.append("\"><title>").append(name).append(" pages</title></polyline>\n");
    }

    private static void legend(StringBuilder b, String[] names, String[] colors) {
        b.append("<g class=\"legend\">\n");
        for (int i = 0; i < names.length; i++) {
            int y = TOP + 10 + i * 20;
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>\n", W - RIGHT + 16, y, colors[i], W - RIGHT + 36, y + 6,
                    esc(names[i])));
        }
        b.append("</g>\n");
    }

    private static void table(StringBuilder b, String cls, List<Summary.Row> rows) {
        b.append("<table class=\"").append(cls).append("\">\n<thead><tr><th>metric</th><th>value</th></tr></thead>\n")
                .append("<tbody>\n");
        for (Summary.Row r : rows) {
            b.append("<tr><td>").append(esc(r.metric())).append("</td><td class=\"value\">").append(esc(r.value()))
                    .append("</td></tr>\n");
        }
        b.append("</tbody>\n</table>\n");
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

    private static String num(double v) {
        if (Math.abs(v - Math.rint(v)) < 1e-9) {
            return Long.toString(Math.round(v));
        }
        return String.format(Locale.ROOT, "%.2f", v);
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
