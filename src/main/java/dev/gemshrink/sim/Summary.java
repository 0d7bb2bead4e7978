package dev.gemshrink.sim;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The end-of-run report of a {@link Simulation}: the summary table (counts only, identical run to run in the
 * deterministic mode), a separate timings block (wall-clock figures, which never repeat exactly), and the first
 * failures. Filled by the simulation, then read-only.
 */
public final class Summary {
    /**
     * One row of a table.
     *
     * @param metric what is counted or measured
     * @param value  its value, as printed
     */
    public record Row(String metric, String value) {
    }

    private final String title;
    private final List<Row> rows = new ArrayList<>();
    private final List<Row> timings = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();

    Summary(String title) {
        this.title = title;
    }

    /**
     * Returns the line that names the run (workload, threads, seed, RAM, swap, duration or budget).
     *
     * @return the title
     */
    public String title() {
        return title;
    }

    /**
     * Returns the summary table.
     *
     * @return the rows, in order
     */
    public List<Row> rows() {
        return Collections.unmodifiableList(rows);
    }

    /**
     * Returns the timings block.
     *
     * @return the rows, in order
     */
    public List<Row> timings() {
        return Collections.unmodifiableList(timings);
    }

    /**
     * Returns the first problems found.
     *
     * @return the messages
     */
    public List<String> failures() {
        return Collections.unmodifiableList(failures);
    }

    /**
     * Returns the value of a row of the summary table.
     *
     * @param metric the row's name, for example {@code ops}
     * @return its value as a number
     * @throws IllegalArgumentException when there is no such row
     */
    public long count(String metric) {
        for (Row r : rows) {
            if (r.metric().equals(metric)) {
                return Long.parseLong(r.value());
            }
        }
        throw new IllegalArgumentException("no row '" + metric + "'");
    }

    Summary row(String metric, Object value) {
        rows.add(new Row(metric, String.valueOf(value)));
        return this;
    }

    Summary timing(String metric, String value) {
        timings.add(new Row(metric, value));
        return this;
    }

    void failure(List<String> messages) {
        failures.addAll(messages);
    }

    /**
     * Prints the summary table, then the timings block, as text tables.
     *
     * @param out where
     */
    public void print(PrintStream out) {
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
