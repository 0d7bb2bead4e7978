package dev.gemshrink.sim;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    /**
     * The row of the pages read back from swap. Swap is transparent here (nothing but eviction writes to it, and a
     * page is read back only when its object is used again), so every such page had been evicted: each is a refault.
     */
    public static final String REFAULTS = "refaults (pages swapped in)";

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

    /**
     * Prints the summary tables of several runs as one table, a column per run (the timings are left out: they are
     * not comparable), after each run's title.
     *
     * @param out       where
     * @param heads     each column's heading, for example the run's policy
     * @param summaries the runs' summaries, as many as heads
     * @throws IllegalArgumentException when the counts differ
     */
    public static void printSideBySide(PrintStream out, List<String> heads, List<Summary> summaries) {
        if (heads.size() != summaries.size()) {
            throw new IllegalArgumentException(heads.size() + " headings for " + summaries.size() + " summaries");
        }
        Map<String, String[]> cells = new LinkedHashMap<>();
        for (int i = 0; i < summaries.size(); i++) {
            Summary s = summaries.get(i);
            out.println("summary " + heads.get(i) + ": " + s.title);
            for (Row r : s.rows) {
                cells.computeIfAbsent(r.metric(), m -> new String[summaries.size()])[i] = r.value();
            }
        }
        List<String[]> lines = new ArrayList<>();
        cells.forEach((metric, values) -> {
            String[] line = new String[values.length + 1];
            line[0] = metric;
            for (int i = 0; i < values.length; i++) {
                line[i + 1] = values[i] == null ? "" : values[i];
            }
            lines.add(line);
        });
        List<String> head = new ArrayList<>(List.of("metric"));
        head.addAll(heads);
        table(out, head.toArray(String[]::new), lines);
    }

    private static void table(PrintStream out, List<Row> rows) {
        List<String[]> lines = new ArrayList<>();
        for (Row r : rows) {
            lines.add(new String[] {r.metric(), r.value()});
        }
        table(out, new String[] {"metric", "value"}, lines);
    }

    /** A text table: the first column left-aligned, the others right-aligned. */
    private static void table(PrintStream out, String[] head, List<String[]> lines) {
        int[] w = new int[head.length];
        for (int c = 0; c < head.length; c++) {
            w[c] = Math.max(c == 0 ? 6 : 5, head[c].length());
            for (String[] l : lines) {
                w[c] = Math.max(w[c], l[c].length());
            }
        }
        StringBuilder rule = new StringBuilder("+");
        for (int width : w) {
            rule.append("-".repeat(width + 2)).append('+');
        }
        out.println(rule);
        out.println(line(head, w));
        out.println(rule);
        for (String[] l : lines) {
            out.println(line(l, w));
        }
        out.println(rule);
    }

    private static String line(String[] cells, int[] w) {
        StringBuilder b = new StringBuilder("|");
        for (int c = 0; c < cells.length; c++) {
            b.append(' ').append(c == 0 ? pad(cells[c], w[c]) : lpad(cells[c], w[c])).append(" |");
        }
        return b.toString();
    }

    private static String pad(String s, int w) {
        return s + " ".repeat(w - s.length());
    }

    private static String lpad(String s, int w) {
        return " ".repeat(w - s.length()) + s;
    }
}
