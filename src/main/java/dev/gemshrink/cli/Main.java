package dev.gemshrink.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code gemshrink} command: {@code --help}, {@code replay FILE} and {@code simulate [options]}.
 *
 * <p>Exit status: 0 on success; 1 when a replay has a failed expect or a failing final check, or a simulation
 * found integrity failures or invariant violations; 2 for a usage error (unknown command or option, bad value,
 * missing or unreadable file, trace syntax error). No Java exception escapes as a stack trace.
 */
public final class Main {
    /** Exit status of a usage error. */
    static final int USAGE = 2;
    private static final String LOGBACK_CONFIG = "logback.configurationFile";

    static final String HELP = String.join("\n",
            "usage: gemshrink <command> [arguments]",
            "",
            "Commands:",
            "  replay FILE          run a trace of driver calls (format v1, see docs/trace-format.md)",
            "                       and print each command's result; exit 0 when every expect held and",
            "                       the final check is clean, 1 otherwise, 2 on a syntax error",
            "  simulate [options]   drive the Panfrost-like driver with real threads under a RAM budget",
            "                       (see docs/simulate.md); exit 0 when no integrity failure or",
            "                       invariant violation was found, 1 otherwise",
            "  --help               print this help",
            "",
            SimulateOptions.HELP);

    private Main() {
    }

    /**
     * Runs the tool and exits with its status.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        // The tool's own logging configuration, under a name that cannot clash with an application's logback.xml
        // when the library jar is on its class path; set before the first logger is created.
        if (System.getProperty(LOGBACK_CONFIG) == null) {
            System.setProperty(LOGBACK_CONFIG, "dev/gemshrink/cli/logback-cli.xml");
        }
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs the tool: the same entry point as the jar, without exiting.
     *
     * @param args the command line
     * @param out  where results go
     * @param err  where errors go
     * @return the exit status
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            return dispatch(args, out, err);
        } catch (UsageException e) {
            err.println("gemshrink: " + e.getMessage());
            err.println("Try 'gemshrink --help'.");
            return USAGE;
        } catch (Throwable t) {
            err.println("gemshrink: internal error: " + t);
            return 1;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static int dispatch(String[] args, PrintStream out, PrintStream err) throws UsageException {
        if (args.length == 0) {
            throw new UsageException("missing command");
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        switch (args[0]) {
            case "--help":
            case "-h":
            case "help":
                out.println(HELP);
                return 0;
            case "replay":
                return replay(rest, out, err);
            case "simulate":
                if (rest.contains("--help")) {
                    out.println(SimulateOptions.HELP);
                    return 0;
                }
                return new Simulation(SimulateOptions.parse(rest), out, err).run();
            default:
                throw new UsageException("unknown command '" + args[0] + "'");
        }
    }

    private static int replay(List<String> args, PrintStream out, PrintStream err) throws UsageException {
        if (args.size() != 1) {
            throw new UsageException("replay takes exactly one trace file");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of(args.get(0)), StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new UsageException("cannot read " + args.get(0) + ": not UTF-8 text");
        } catch (IOException | InvalidPathException e) {
            throw new UsageException("cannot read " + args.get(0) + ": " + describe(e));
        }
        List<TraceCommand> trace;
        try {
            trace = TraceParser.parse(lines);
        } catch (TraceSyntaxException e) {
            for (String line : e.errors()) {
                err.println(line);
            }
            return USAGE;
        }
        return new ReplayExecutor(out, err).run(trace);
    }

    private static String describe(Exception e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
