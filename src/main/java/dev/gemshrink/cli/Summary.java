package dev.gemshrink.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The end-of-run report of {@code simulate}: the summary table (counts only, identical run to run in deterministic
 * mode) and a separate timings block (wall-clock figures, which never repeat exactly).
 */
final class Summary {
    /** One row of a table. */
    record Row(String metric, String value) {
    }

    final String title;
    final List<Row> rows = new ArrayList<>();
    final List<Row> timings = new ArrayList<>();
    final List<String> failures = new ArrayList<>();

    Summary(String title) {
        this.title = title;
    }

    Summary row(String metric, Object value) {
        rows.add(new Row(metric, String.valueOf(value)));
        return this;
    }

    Summary timing(String metric, String value) {
        timings.add(new Row(metric, value));
        return this;
    }

    /** Prints the summary table, then the timings block. */
    void print(PrintStream out) {
        out.println("summary: " + title);
        table(out, rows);
        out.println("timings (wall-clock, not part of the summary: they differ from run to run)");
        table(out, timings);
    }

    private static void table(PrintStream out, List<Row> rows) {
        int w = 6;
        int v = 5;
        for (Row r : rows) {
            w = Math.max(w, r.metric().length());
            v = Math.max(v, r.value().length());
        }
        String line = "+" + "-".repeat(w + 2) + "+" + "-".repeat(v + 2) + "+";
        out.println(line);
        out.println("| " + pad("metric", w) + " | " + lpad("value", v) + " |");
        out.println(line);
        for (Row r : rows) {
            out.println("| " + pad(r.metric(), w) + " | " + lpad(r.value(), v) + " |");
        }
        out.println(line);
    }

    private static String pad(String s, int w) {
        return s + " ".repeat(w - s.length());
    }

    private static String lpad(String s, int w) {
        return " ".repeat(w - s.length()) + s;
    }
}
