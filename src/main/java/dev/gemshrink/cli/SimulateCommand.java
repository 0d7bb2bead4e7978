package dev.gemshrink.cli;

import dev.gemshrink.memory.PageBacking;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.sim.Driver;
import dev.gemshrink.sim.HtmlReport;
import dev.gemshrink.sim.ReportHeader;
import dev.gemshrink.sim.Simulation;
import dev.gemshrink.sim.SimulationConfig;
import dev.gemshrink.sim.SimulationResult;
import dev.gemshrink.sim.Summary;
import dev.gemshrink.sim.Workload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code gemshrink simulate [options]}: checks the options and the output paths before anything runs, then runs
 * the simulation.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, versionProvider = BuildInfo.class,
        sortOptions = false,
        description = {"Drive the Panfrost-like or the Panthor-like driver (--driver) with real threads under a RAM",
            "budget (see docs/simulate.md), or replay an access trace and print the miss ratio (--workload trace),",
            "under one reclaim policy or under several in turn (--compare).",
            "Exit 0 when no integrity failure or invariant violation was found, 1 otherwise."},
        footer = "SIZE is a byte count with an optional suffix K, KiB, M, MiB, G or GiB.")
final class SimulateCommand implements Callable<Integer> {
    private static final int SHUTDOWN_WAIT_SECONDS = 30;
    /** The workload that replays an access trace instead of running a {@link Workload}. */
    static final String TRACE = "trace";

    private final Console io;

    @Spec
    private CommandSpec spec;

    @Option(names = "--workload", paramLabel = "NAME", converter = WorkloadName.class,
            description = {"glmark2 (default): many short-lived BOs per frame, GPU jobs, heap growth;",
                "browser: tabs with Mesa-like BO caches (DONTNEED/WILLNEED), tabs going idle;",
                "compute: a WILLNEED working set larger than RAM, evicted to swap and verified;",
                "tabs (--driver panthor only): more and more browser tabs, each a VM with textures and a tiler heap;",
                "trace: replay the object accesses of --trace FILE in a cache of --capacity pages"})
    private String workload = "glmark2";

    @Option(names = "--driver", paramLabel = "NAME", converter = DriverName.class,
            description = "the driver: panfrost (default) or panthor")
    private Driver driver = Driver.PANFROST;

    @Option(names = "--trace", paramLabel = "FILE",
            description = {"with --workload trace: the accesses, one id per line or CSV with an id and an optional",
                "size column; - reads standard input"})
    private String trace;

    @Option(names = "--capacity", paramLabel = "N", description = "with --workload trace: the RAM in pages of 4 KiB")
    private int capacity;

    @Option(names = "--policy", paramLabel = "P", completionCandidates = PolicyNames.class,
            description = "the reclaim policy: ${COMPLETION-CANDIDATES} (default lru)")
    private String policy;

    @Option(names = "--compare", paramLabel = "P1,P2,...", split = ",",
            description = {"run under each policy in turn, each on a fresh device (a workload: with the same seed),",
                "and report them side by side"})
    private List<String> compare;

    @Option(names = "--ram", paramLabel = "SIZE", converter = Size.class,
            description = "RAM budget (default 64MiB; 4MiB to 16GiB)")
    private long ramBytes = 64L << 20;

    @Option(names = "--swap", paramLabel = "SIZE", converter = Size.class,
            description = "swap capacity (default 128MiB; 0 disables eviction)")
    private long swapBytes = 128L << 20;

    @Option(names = "--swap-file", paramLabel = "PATH",
            description = "keep swap in this new file (created, deleted at the end) instead of in memory")
    private String swapFile;

    @Option(names = "--backing", paramLabel = "KIND", converter = BackingName.class,
            description = "where the RAM budget's bytes live: heap (default) or direct (off the Java heap)")
    private PageBacking.Kind backing = PageBacking.Kind.HEAP;

    @Option(names = "--seconds", paramLabel = "N",
            description = {"how long to run (default 5); with --threads 1 it sets an operation budget instead,",
                "so the run is deterministic"})
    private double seconds = 5;

    @Option(names = "--threads", paramLabel = "N",
            description = "worker threads (default 4, at most 64; 1 = deterministic, single-threaded)")
    private int threads = 4;

    @Option(names = "--seed", paramLabel = "N",
            description = "random seed (default: derived from the clock, printed in the summary)")
    private Long seed;

    @Option(names = "--gems", description = "print the device's gems table (one row per BO) as the workers left it")
    private boolean gems;

    @Option(names = "--report", paramLabel = "PATH",
            description = "write an HTML report (inline SVG charts and the summary table)")
    private String report;

    SimulateCommand(Console io) {
        this.io = io;
    }

    @Override
    public Integer call() throws UsageException {
        if (workload.equals(TRACE)) {
            traceOptions();
            return AccessTraceRun.run(io, trace, capacity, policies());
        }
        refuseTraceOptions();
        List<ReclaimPolicy> policies = policies();
        SimulationConfig.Builder config = options();
        List<Run> runs = new ArrayList<>();
        for (ReclaimPolicy p : policies) {
            Progress progress = new Progress(io.out(), System.console() != null && io.out() == System.out);
            runs.add(new Run(new Simulation(config.policy(p).build(), progress), progress));
        }
        SimulationConfig first = config.policy(policies.get(0)).build();
        AtomicBoolean signalled = new AtomicBoolean(); // set by the hook, read by this thread between runs
        CountDownLatch reported = new CountDownLatch(1);
        // Ctrl-C or SIGTERM: stop the workers of the run in progress (and keep the next ones from starting), then let
        // this thread print the summaries, write the report and remove the swap file before the JVM exits (bounded,
        // so a stuck run cannot keep it alive).
        Thread hook = new Thread(() -> {
            signalled.set(true);
            runs.forEach(r -> r.sim().stop());
            try {
                if (!reported.await(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    first.swapFile().ifPresent(SimulateCommand::deleteQuietly);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "gemshrink-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return runAndReport(first, policies, runs, signalled);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it waits for the latch
            }
            io.out().flush();
            io.err().flush();
            reported.countDown();
        }
    }

    /** One simulation of the command and the progress it reports to. */
    private record Run(Simulation sim, Progress progress) {
    }

    /**
     * Runs the simulations one after the other (none after a signal), printing each summary, then with several
     * policies their summaries side by side, then the verdict.
     */
    private int runAndReport(SimulationConfig config, List<ReclaimPolicy> policies, List<Run> runs,
            AtomicBoolean signalled) throws UsageException {
        io.out().println(String.format(Locale.ROOT, "simulate: workload=%s %s threads=%d seed=%d ram=%s swap=%s%s%s%s",
                config.workload().id(), compare == null ? "policy=" + policies.get(0).name()
                : "compare=" + names(policies, ","), config.threads(), config.seed(),
                Sizes.format(config.ramBytes()), Sizes.format(config.swapBytes()),
                config.backing() == PageBacking.Kind.HEAP ? ""
                : " backing=" + config.backing().name().toLowerCase(Locale.ROOT), " driver=" + config.driver().id(),
                config.deterministic() ? " (deterministic: " + config.operations() + " operations)" : ""));
        List<SimulationResult> results = new ArrayList<>();
        for (Run run : runs) {
            if (signalled.get() && !results.isEmpty()) {
                break;
            }
            SimulationResult r = runOne(config, run.sim(), run.progress());
            results.add(r);
            if (r.stoppedEarly()) {
                io.out().println("simulate: stopped by a signal; the summary covers what ran");
            }
            r.summary().print(io.out());
            if (gems) {
                io.out().print(r.gemsAtEnd().text());
            }
            for (String m : r.failures()) {
                io.err().println(m);
            }
        }
        if (results.size() > 1) {
            io.out().println("side by side (one run per policy, same seed; timings left out)");
            Summary.printSideBySide(io.out(), results.stream().map(r -> r.config().policy().name()).toList(),
                    results.stream().map(SimulationResult::summary).toList());
        }
        long integrity = results.stream().mapToLong(SimulationResult::integrityFailures).sum();
        long violations = results.stream().mapToLong(SimulationResult::invariantViolations).sum();
        boolean ok = integrity == 0 && violations == 0;
        io.out().println("simulate: " + (ok ? "ok" : "FAILED (" + integrity + " integrity failures, " + violations
                + " invariant violations)"));
        if (report != null) {
            Path path = Path.of(report);
            try {
                HtmlReport.write(path, ReportHeader.of("gemshrink simulate: " + config.workload().id())
                        .withCommand(commandLine(), BuildInfo.version() + " (" + BuildInfo.commit() + ")"),
                        results);
                io.out().println("report: " + report);
            } catch (IOException | RuntimeException e) {
                io.error("simulate: cannot write report " + report + ": " + e.getMessage());
                return Main.FAILURE;
            }
        }
        return ok ? Main.OK : Main.PROBLEM;
    }

    private SimulationResult runOne(SimulationConfig config, Simulation sim, Progress progress)
            throws UsageException {
        try {
            return sim.run();
        } catch (FileAlreadyExistsException e) {
            throw new UsageException("--swap-file " + e.getFile() + " already exists; refusing to overwrite it");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create swap file " + config.swapFile().orElseThrow() + ": "
                    + e.getMessage(), e);
        } finally {
            progress.end();
        }
    }

    /** The whole command line as typed (arguments other than plain words quoted for a shell). */
    private String commandLine() {
        StringBuilder b = new StringBuilder("gemshrink");
        for (String a : spec.commandLine().getParseResult().originalArgs()) {
            boolean plain = !a.isEmpty() && a.matches("[A-Za-z0-9_./=:,+-]+");
            b.append(' ').append(plain ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return b.toString();
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("gemshrink: could not delete swap file " + p + ": " + e.getMessage());
        }
    }

    /**
     * Checks the values and the output paths; a problem is a usage error, found before anything runs.
     *
     * @return the configuration of every run, its policy still to be set
     */
    private SimulationConfig.Builder options() {
        Workload w = Workload.valueOf(workload.toUpperCase(Locale.ROOT));
        w.refuses(driver).ifPresent(why -> {
            throw bad("--workload " + workload + ": " + why);
        });
        if (gems && driver == Driver.PANTHOR) {
            throw bad("--gems needs --driver panfrost (the Panthor-like driver has no gems table)");
        }
        SimulationConfig.Builder b = SimulationConfig.builder().workload(w).driver(driver)
                .seed(seed != null ? seed : ThreadLocalRandom.current().nextInt(1, 1_000_000));
        Path swapPath = null;
        try {
            b.ramBytes(ramBytes).swapBytes(swapBytes).seconds(seconds).threads(threads).backing(backing);
            if (swapFile != null) {
                if (swapBytes == 0) {
                    throw bad("--swap-file needs --swap above 0");
                }
                swapPath = outputPath("--swap-file", swapFile);
                if (Files.exists(swapPath)) {
                    throw bad("--swap-file " + swapFile + " already exists; refusing to overwrite it");
                }
                b.swapFile(swapPath);
            }
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage().replace("RAM must", "--ram must").replace("swap must", "--swap must")
                    .replace("seconds must", "--seconds must").replace("threads must", "--threads must"));
        }
        if (report != null) {
            Path p = outputPath("--report", report);
            if (Files.isDirectory(p)) {
                throw bad("--report " + report + ": is a directory");
            }
        }
        String heap = HeapBudget.check(ramBytes, swapPath == null ? swapBytes : 0,
                Runtime.getRuntime().maxMemory(), "--ram " + Sizes.format(ramBytes));
        if (heap != null) {
            throw bad(heap);
        }
        return b;
    }

    /**
     * Checks the options of {@code --workload trace}: {@code --trace} and {@code --capacity} are required, the other
     * workloads' options are refused (they would change nothing).
     */
    private void traceOptions() {
        for (String o : List.of("--ram", "--swap", "--swap-file", "--backing", "--seconds", "--threads", "--seed",
                "--gems", "--report", "--driver")) {
            if (given(o)) {
                throw bad(o + " does not apply to --workload trace");
            }
        }
        if (trace == null) {
            throw bad("--workload trace needs --trace FILE");
        }
        if (!given("--capacity")) {
            throw bad("--workload trace needs --capacity N");
        }
        if (capacity < 1) {
            throw bad("--capacity must be at least 1 page, not " + capacity);
        }
        String heap = HeapBudget.check((long) capacity * PagePool.PAGE_SIZE, 0, Runtime.getRuntime().maxMemory(),
                "--capacity " + capacity);
        if (heap != null) {
            throw bad(heap);
        }
    }

    /**
     * Checks {@code --policy} and {@code --compare}: they exclude each other, every name is a built-in policy, and
     * none is named twice.
     *
     * @return the policies, in the order given; {@code lru} when neither option is given
     */
    private List<ReclaimPolicy> policies() {
        if (policy != null && compare != null) {
            throw bad("--policy and --compare exclude each other");
        }
        List<String> names = compare != null ? compare : List.of(policy != null ? policy : ReclaimPolicy.lru().name());
        List<ReclaimPolicy> out = new ArrayList<>();
        for (String n : names) {
            ReclaimPolicy p = ReclaimPolicy.named(n).orElseThrow(() -> bad("unknown policy '" + n + "' ("
                    + names(ReclaimPolicy.builtIns(), ", ") + ")"));
            if (out.contains(p)) {
                throw bad("--compare names " + n + " twice");
            }
            out.add(p);
        }
        return out;
    }

    private static String names(List<ReclaimPolicy> policies, String separator) {
        return policies.stream().map(ReclaimPolicy::name).collect(Collectors.joining(separator));
    }

    /** The trace workload's own options are refused with the others. */
    private void refuseTraceOptions() {
        for (String o : List.of("--trace", "--capacity")) {
            if (given(o)) {
                throw bad(o + " needs --workload trace");
            }
        }
    }

    private boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /** A path the run will create: its directory must exist and be writable. */
    private Path outputPath(String option, String value) {
        if (value.isEmpty()) {
            throw bad(option + " needs a path");
        }
        Path p;
        try {
            p = Path.of(value).toAbsolutePath();
        } catch (InvalidPathException e) {
            throw bad(option + ": bad path '" + value + "'");
        }
        Path dir = p.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw bad(option + " " + value + ": no such directory " + dir);
        }
        if (!Files.isWritable(dir)) {
            throw bad(option + " " + value + ": directory " + dir + " is not writable");
        }
        return p;
    }

    private ParameterException bad(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /** Parses a SIZE option value. */
    static final class Size implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Sizes.parseSize(value);
            } catch (NumberFormatException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** Parses a page backing's name (lower case). */
    static final class BackingName implements ITypeConverter<PageBacking.Kind> {
        @Override
        public PageBacking.Kind convert(String value) {
            return switch (value) {
                case "heap" -> PageBacking.Kind.HEAP;
                case "direct" -> PageBacking.Kind.DIRECT;
                default -> throw new TypeConversionException("unknown backing '" + value + "' (heap or direct)");
            };
        }
    }

    /** Parses a driver's name (lower case, as printed). */
    static final class DriverName implements ITypeConverter<Driver> {
        @Override
        public Driver convert(String value) {
            for (Driver d : Driver.values()) {
                if (d.id().equals(value)) {
                    return d;
                }
            }
            throw new TypeConversionException("unknown driver '" + value + "' (panfrost or panthor)");
        }
    }

    /** The names of the built-in reclaim policies, for the help text. */
    static final class PolicyNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return ReclaimPolicy.builtIns().stream().map(ReclaimPolicy::name).iterator();
        }
    }

    /** Checks a workload name (lower case, as printed): a {@link Workload}'s id or {@value #TRACE}. */
    static final class WorkloadName implements ITypeConverter<String> {
        private static final List<String> NAMES = List.of("glmark2", "browser", "compute", "tabs", TRACE);

        @Override
        public String convert(String value) {
            if (!NAMES.contains(value)) {
                throw new TypeConversionException("unknown workload '" + value
                        + "' (glmark2, browser, compute, tabs or trace)");
            }
            return value;
        }
    }
}
