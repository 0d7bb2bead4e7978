package dev.gemshrink.bench;

import dev.gemshrink.reclaim.ReclaimPolicy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.util.ListStatistics;

/**
 * Runs {@link BufferCacheBench} once and prints, from that run, each configuration's throughput and miss ratio with
 * JMH's 99.9 % error bars, each policy's throughput and miss ratio against Caffeine's at the same refill cost, and
 * whether some policy meets the target at each cost (miss ratio at most Caffeine's and throughput at least 1.0x
 * Caffeine's, both on the means). The arguments are JMH's command-line options ({@code -f}, {@code -wi}, {@code -i},
 * {@code -p cache=...}, {@code -rf json}, ...); the benchmark is always {@code BufferCacheBench.access}.
 */
public final class BufferCacheRatios {
    private static final double CONFIDENCE = 0.999;

    private BufferCacheRatios() {
    }

    /**
     * One configuration's measured iterations.
     *
     * @param cache               {@code caffeine} or a policy name
     * @param refillMicrosPerPage the refill cost
     * @param accessesPerSecond   each iteration's score
     * @param missRatio           each iteration's misses / accesses
     */
    record Measured(String cache, int refillMicrosPerPage, double[] accessesPerSecond, double[] missRatio) {
    }

    /**
     * Runs the benchmark and prints the report on standard output.
     *
     * @param args JMH's command-line options
     * @throws CommandLineOptionException when an option is malformed
     * @throws RunnerException            when JMH fails
     */
    public static void main(String[] args) throws CommandLineOptionException, RunnerException {
        Options options = new OptionsBuilder().parent(new CommandLineOptions(args))
                .include(BufferCacheBench.class.getName() + ".access").build();
        Collection<RunResult> runs = new Runner(options).run();
        List<Measured> measured = new ArrayList<>();
        for (RunResult r : runs) {
            measured.add(measured(r));
        }
        System.out.print(report(measured));
    }

    /** The measured iterations of every fork of one configuration. */
    private static Measured measured(RunResult r) {
        List<Double> score = new ArrayList<>();
        List<Double> ratio = new ArrayList<>();
        for (BenchmarkResult b : r.getBenchmarkResults()) {
            for (IterationResult it : b.getIterationResults()) {
                score.add(it.getPrimaryResult().getScore());
                var aux = it.getSecondaryResults();
                double accesses = aux.get("accesses").getScore();
                ratio.add(accesses == 0 ? 0 : aux.get("misses").getScore() / accesses);
            }
        }
        return new Measured(r.getParams().getParam("cache"),
                Integer.parseInt(r.getParams().getParam("refillMicrosPerPage")),
                score.stream().mapToDouble(Double::doubleValue).toArray(),
                ratio.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /**
     * Renders the report: one table row per configuration (by refill cost, Caffeine first, then the policies in
     * {@link ReclaimPolicy#builtIns()} order), then one verdict line per refill cost.
     *
     * @param measured the configurations
     * @return the text, lines ending in a line break
     */
    static String report(List<Measured> measured) {
        Map<Integer, List<Measured>> byCost = new TreeMap<>();
        for (Measured m : measured) {
            byCost.computeIfAbsent(m.refillMicrosPerPage(), c -> new ArrayList<>()).add(m);
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-14s %-9s %26s %22s %24s %21s%n", "refill us/page", "cache",
                "accesses/s (99.9% error)", "miss ratio (99.9%)", "throughput / Caffeine", "miss ratio - Caffeine"));
        List<String> verdicts = new ArrayList<>();
        for (Map.Entry<Integer, List<Measured>> e : byCost.entrySet()) {
            List<Measured> row = new ArrayList<>(e.getValue());
            row.sort(Comparator.comparingInt(m -> order(m.cache())));
            Optional<Measured> caffeine = row.stream().filter(m -> m.cache().equals(BufferCacheBench.CAFFEINE))
                    .findFirst();
            for (Measured m : row) {
                ListStatistics s = stats(m.accessesPerSecond());
                ListStatistics r = stats(m.missRatio());
                String vs = "";
                String dRatio = "";
                if (caffeine.isPresent() && m != caffeine.get()) {
                    ListStatistics c = stats(caffeine.get().accessesPerSecond());
                    vs = String.format(Locale.ROOT, "%.2f (%s..%s)", s.getMean() / c.getMean(),
                            ratio(s.getMean() - error(s), c.getMean() + error(c)),
                            ratio(s.getMean() + error(s), c.getMean() - error(c)));
                    dRatio = String.format(Locale.ROOT, "%+.4f", r.getMean() - stats(caffeine.get().missRatio())
                            .getMean());
                }
                b.append(String.format(Locale.ROOT, "%-14d %-9s %26s %22s %24s %21s%n", e.getKey(), m.cache(),
                        String.format(Locale.ROOT, "%.0f ± %s", s.getMean(), fixed(error(s), "%.0f")),
                        String.format(Locale.ROOT, "%.4f ± %s", r.getMean(), fixed(error(r), "%.4f")), vs, dRatio));
            }
            caffeine.ifPresent(c -> verdicts.add(verdict(e.getKey(), c, row)));
        }
        for (String v : verdicts) {
            b.append(v).append(System.lineSeparator());
        }
        return b.toString();
    }

    /** Whether a policy has at most Caffeine's miss ratio and at least its throughput (means); if not, how far. */
    private static String verdict(int cost, Measured caffeine, List<Measured> row) {
        double cScore = stats(caffeine.accessesPerSecond()).getMean();
        double cRatio = stats(caffeine.missRatio()).getMean();
        List<String> meeting = new ArrayList<>();
        Measured fastest = null;
        Measured fewestMisses = null;
        for (Measured m : row) {
            if (m == caffeine) {
                continue;
            }
            double score = stats(m.accessesPerSecond()).getMean();
            double ratio = stats(m.missRatio()).getMean();
            if (ratio <= cRatio && score >= cScore) {
                meeting.add(m.cache());
            }
            if (fastest == null || score > stats(fastest.accessesPerSecond()).getMean()) {
                fastest = m;
            }
            if (fewestMisses == null || ratio < stats(fewestMisses.missRatio()).getMean()) {
                fewestMisses = m;
            }
        }
        String head = "refill " + cost + " us/page: ";
        if (fastest == null) {
            return head + "no policy measured";
        }
        if (!meeting.isEmpty()) {
            return head + "target met by " + String.join(", ", meeting);
        }
        return head + String.format(Locale.ROOT, "target missed; fastest %s at %.2fx Caffeine (miss ratio %+.4f), "
                + "fewest misses %s at %+.4f (%.2fx)", fastest.cache(),
                stats(fastest.accessesPerSecond()).getMean() / cScore, stats(fastest.missRatio()).getMean() - cRatio,
                fewestMisses.cache(), stats(fewestMisses.missRatio()).getMean() - cRatio,
                stats(fewestMisses.accessesPerSecond()).getMean() / cScore);
    }

    /** Caffeine first, then the built-in policies in their order, then anything else. */
    private static int order(String cache) {
        if (cache.equals(BufferCacheBench.CAFFEINE)) {
            return -1;
        }
        List<ReclaimPolicy> all = ReclaimPolicy.builtIns();
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).name().equals(cache)) {
                return i;
            }
        }
        return all.size();
    }

    private static ListStatistics stats(double[] values) {
        ListStatistics s = new ListStatistics();
        for (double v : values) {
            s.addValue(v);
        }
        return s;
    }

    /** JMH's error at 99.9 %: NaN with fewer than two iterations. */
    private static double error(ListStatistics s) {
        return s.getN() < 2 ? Double.NaN : s.getMeanErrorAt(CONFIDENCE);
    }

    private static String fixed(double v, String format) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, format, v);
    }

    private static String ratio(double num, double den) {
        if (Double.isNaN(num) || Double.isNaN(den)) {
            return "n/a";
        }
        return den <= 0 ? "inf" : String.format(Locale.ROOT, "%.2f", Math.max(0, num) / den);
    }
}
