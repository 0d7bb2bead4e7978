package dev.gemshrink.cli;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
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
        description = {"Drive the Panfrost-like driver with real threads under a RAM budget (see docs/simulate.md).",
            "Exit 0 when no integrity failure or invariant violation was found, 1 otherwise."},
        footer = "SIZE is a byte count with an optional suffix K, KiB, M, MiB, G or GiB.")
final class SimulateCommand implements Callable<Integer> {
    private final Console io;

    @Spec
    private CommandSpec spec;

    @Option(names = "--workload", paramLabel = "NAME", converter = WorkloadName.class,
            description = {"glmark2 (default): many short-lived BOs per frame, GPU jobs, heap growth;",
                "browser: tabs with Mesa-like BO caches (DONTNEED/WILLNEED), tabs going idle;",
                "compute: a WILLNEED working set larger than RAM, evicted to swap and verified"})
    private Workload workload = Workload.GLMARK2;

    @Option(names = "--ram", paramLabel = "SIZE", converter = Size.class,
            description = "RAM budget (default 64MiB; 4MiB to 16GiB)")
    private long ramBytes = 64L << 20;

    @Option(names = "--swap", paramLabel = "SIZE", converter = Size.class,
            description = "swap capacity (default 128MiB; 0 disables eviction)")
    private long swapBytes = 128L << 20;

    @Option(names = "--swap-file", paramLabel = "PATH",
            description = "keep swap in this new file (created, deleted at the end) instead of in memory")
    private String swapFile;

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

    @Option(names = "--report", paramLabel = "PATH",
            description = "write an HTML report (inline SVG charts and the summary table)")
    private String report;

    SimulateCommand(Console io) {
        this.io = io;
    }

    @Override
    public Integer call() throws UsageException {
        return new Simulation(options(), io.out(), io.err()).run();
    }

    /** Checks the values and the output paths; a problem is a usage error, found before anything runs. */
    private SimulateOptions options() {
        if (ramBytes < SimulateOptions.MIN_RAM || ramBytes > SimulateOptions.MAX_RAM) {
            throw bad("--ram must be 4MiB..16GiB, not " + Sizes.format(ramBytes));
        }
        if (swapBytes / 4096 > Integer.MAX_VALUE) {
            throw bad("--swap is too large: " + Sizes.format(swapBytes));
        }
        if (!(seconds > 0 && seconds <= 86_400)) {
            throw bad("--seconds must be above 0 and at most 86400, not " + seconds);
        }
        if (threads < 1 || threads > 64) {
            throw bad("--threads must be 1..64, not " + threads);
        }
        SimulateOptions o = new SimulateOptions();
        o.workload = workload.name().toLowerCase(Locale.ROOT);
        o.ramBytes = ramBytes;
        o.swapBytes = swapBytes;
        o.seconds = seconds;
        o.threads = threads;
        o.seedGiven = seed != null;
        o.seed = seed != null ? seed : ThreadLocalRandom.current().nextInt(1, 1_000_000);
        if (swapFile != null) {
            if (swapBytes == 0) {
                throw bad("--swap-file needs --swap above 0");
            }
            o.swapFile = outputPath("--swap-file", swapFile);
            if (Files.exists(o.swapFile)) {
                throw bad("--swap-file " + swapFile + " already exists; refusing to overwrite it");
            }
        }
        if (report != null) {
            o.report = outputPath("--report", report);
            if (Files.isDirectory(o.report)) {
                throw bad("--report " + report + ": is a directory");
            }
        }
        String heap = HeapBudget.check(o.ramBytes, o.swapFile == null ? o.swapBytes : 0,
                Runtime.getRuntime().maxMemory(), "--ram " + Sizes.format(o.ramBytes));
        if (heap != null) {
            throw bad(heap);
        }
        return o;
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

    /** Parses a workload name (lower case, as printed). */
    static final class WorkloadName implements ITypeConverter<Workload> {
        private static final List<String> NAMES = List.of("glmark2", "browser", "compute");

        @Override
        public Workload convert(String value) {
            if (!NAMES.contains(value)) {
                throw new TypeConversionException("unknown workload '" + value + "' (glmark2, browser or compute)");
            }
            return Workload.of(value);
        }
    }
}
