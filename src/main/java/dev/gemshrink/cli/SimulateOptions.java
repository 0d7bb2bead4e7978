package dev.gemshrink.cli;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The options of {@code simulate}, parsed and checked. */
final class SimulateOptions {
    static final String HELP = String.join("\n",
            "simulate options:",
            "  --workload NAME    glmark2 (default): many short-lived BOs per frame, GPU jobs, heap growth;",
            "                     browser: tabs with Mesa-like BO caches (DONTNEED/WILLNEED), tabs going idle;",
            "                     compute: a WILLNEED working set larger than RAM, evicted to swap and verified",
            "  --ram SIZE         RAM budget (default 64MiB; at least 4MiB)",
            "  --swap SIZE        swap capacity (default 128MiB; 0 disables eviction)",
            "  --swap-file PATH   keep swap in this file (created, deleted at the end) instead of in memory",
            "  --seconds N        how long to run (default 5; with --threads 1 it sets an operation budget",
            "                     instead, so the run is deterministic)",
            "  --threads N        worker threads (default 4; 1 = deterministic, single-threaded)",
            "  --seed N           random seed (default: derived from the clock, printed in the summary)",
            "  --report PATH      write an HTML report (inline SVG charts and the summary table)",
            "SIZE is a byte count with an optional suffix K, KiB, M, MiB, G or GiB.");

    static final long MIN_RAM = 4L << 20;
    static final long MAX_RAM = 16L << 30;

    String workload = "glmark2";
    long ramBytes = 64L << 20;
    long swapBytes = 128L << 20;
    Path swapFile;
    double seconds = 5;
    int threads = 4;
    long seed;
    boolean seedGiven;
    Path report;

    private SimulateOptions() {
    }

    /**
     * Parses the options ({@code --name value} or {@code --name=value}).
     *
     * @param args the words after {@code simulate}
     * @return the options
     * @throws UsageException for an unknown option, a missing or bad value
     */
    static SimulateOptions parse(List<String> args) throws UsageException {
        SimulateOptions o = new SimulateOptions();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--")) {
                throw new UsageException("simulate: unexpected argument '" + a + "'");
            }
            String name = a;
            String value;
            int eq = a.indexOf('=');
            if (eq >= 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            } else {
                if (i + 1 >= args.size()) {
                    throw new UsageException("simulate: " + a + " needs a value");
                }
                value = args.get(++i);
            }
            switch (name) {
                case "--workload":
                    if (!List.of("glmark2", "browser", "compute").contains(value)) {
                        throw new UsageException("simulate: unknown workload '" + value
                                + "' (glmark2, browser or compute)");
                    }
                    o.workload = value;
                    break;
                case "--ram":
                    o.ramBytes = size(name, value);
                    if (o.ramBytes < MIN_RAM || o.ramBytes > MAX_RAM) {
                        throw new UsageException("simulate: --ram must be 4MiB..16GiB, not " + value);
                    }
                    break;
                case "--swap":
                    o.swapBytes = size(name, value);
                    if (o.swapBytes / 4096 > Integer.MAX_VALUE) {
                        throw new UsageException("simulate: --swap is too large: " + value);
                    }
                    break;
                case "--swap-file":
                    o.swapFile = path(name, value);
                    break;
                case "--seconds":
                    try {
                        o.seconds = Double.parseDouble(value);
                    } catch (NumberFormatException e) {
                        throw new UsageException("simulate: bad --seconds '" + value + "'");
                    }
                    if (!(o.seconds > 0 && o.seconds <= 86_400)) {
                        throw new UsageException("simulate: --seconds must be above 0 and at most 86400, not "
                                + value);
                    }
                    break;
                case "--threads":
                    try {
                        o.threads = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        throw new UsageException("simulate: bad --threads '" + value + "'");
                    }
                    if (o.threads < 1 || o.threads > 64) {
                        throw new UsageException("simulate: --threads must be 1..64, not " + value);
                    }
                    break;
                case "--seed":
                    try {
                        o.seed = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        throw new UsageException("simulate: bad --seed '" + value + "'");
                    }
                    o.seedGiven = true;
                    break;
                case "--report":
                    o.report = path(name, value);
                    break;
                default:
                    throw new UsageException("simulate: unknown option '" + name + "'");
            }
        }
        if (o.swapFile != null && o.swapBytes == 0) {
            throw new UsageException("simulate: --swap-file needs --swap above 0");
        }
        String heap = HeapBudget.check(o.ramBytes, o.swapFile == null ? o.swapBytes : 0,
                Runtime.getRuntime().maxMemory(), "simulate: --ram " + Sizes.format(o.ramBytes));
        if (heap != null) {
            throw new UsageException(heap);
        }
        if (!o.seedGiven) {
            o.seed = java.util.concurrent.ThreadLocalRandom.current().nextInt(1, 1_000_000);
        }
        return o;
    }

    /**
     * Returns whether the run is deterministic (one thread: everything driven from it, bounded by operations).
     *
     * @return true with {@code --threads 1}
     */
    boolean deterministic() {
        return threads == 1;
    }

    int ramPages() {
        return (int) (ramBytes / 4096);
    }

    long swapPages() {
        return swapBytes / 4096;
    }

    private static long size(String name, String value) throws UsageException {
        try {
            return Sizes.parseSize(value);
        } catch (NumberFormatException e) {
            throw new UsageException("simulate: " + name + ": " + e.getMessage());
        }
    }

    private static Path path(String name, String value) throws UsageException {
        if (value.isEmpty()) {
            throw new UsageException("simulate: " + name + " needs a path");
        }
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new UsageException("simulate: " + name + ": bad path '" + value + "'");
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "workload=%s threads=%d seed=%d ram=%s swap=%s", workload, threads, seed,
                Sizes.format(ramBytes), Sizes.format(swapBytes));
    }
}
