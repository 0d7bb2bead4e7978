package dev.gemshrink.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code gemshrink} command: {@code replay FILE}, {@code simulate [options]}, {@code help}, and on every
 * command {@code -h}/{@code --help} and {@code -V}/{@code --version}.
 *
 * <p>Exit status: {@value #OK} success; {@value #PROBLEM} the model found a problem (a failed expect, an integrity
 * failure, an invariant violation, a leak); {@value #USAGE} a usage or input error (bad option or value, bad trace,
 * a missing or an existing file where that is refused); {@value #FAILURE} an I/O or internal error. Every message
 * starts with {@code gemshrink:}; no Java exception escapes as a stack trace.
 */
@Command(name = "gemshrink", mixinStandardHelpOptions = true, versionProvider = BuildInfo.class,
        synopsisSubcommandLabel = "COMMAND",
        description = "A model of Linux DRM shmem buffer objects and their shrinker: replay traces of driver calls "
                + "and simulate workloads under a RAM budget.",
        footerHeading = "%nExit status:%n",
        footer = {"  0  ok", "  1  the model found a problem (a failed expect, an integrity failure, an invariant "
                + "violation, a leak)", "  2  usage or input error (bad option, bad trace, missing or existing file)",
            "  3  I/O or internal error"})
public final class Main implements Callable<Integer> {
    /** Exit status: success. */
    static final int OK = 0;
    /** Exit status: the model found a problem. */
    static final int PROBLEM = 1;
    /** Exit status: a usage or input error. */
    static final int USAGE = 2;
    /** Exit status: an I/O or internal error. */
    static final int FAILURE = 3;
    private static final String LOGBACK_CONFIG = "logback.configurationFile";

    @Spec
    private CommandSpec spec;

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
        System.exit(run(args, System.in, System.out, System.err));
    }

    /**
     * Runs the tool: the same entry point as the jar, without exiting.
     *
     * @param args the command line
     * @param in   what {@code replay -} reads
     * @param out  where results go
     * @param err  where errors go
     * @return the exit status
     */
    static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        Console io = new Console(in, out, err);
        try {
            CommandLine cl = new CommandLine(new Main())
                    .addSubcommand(new ReplayCommand(io))
                    .addSubcommand(new SimulateCommand(io))
                    .addSubcommand(new CommandLine.HelpCommand());
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            cl.setParameterExceptionHandler((e, a) -> usage(io, e));
            cl.setExecutionExceptionHandler((e, c, parsed) -> failure(io, c, e));
            return cl.execute(args);
        } catch (Throwable t) {
            io.error("internal error: " + t);
            return FAILURE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing command (replay or simulate)");
    }

    private static int usage(Console io, ParameterException e) {
        CommandLine c = e.getCommandLine();
        boolean top = c.getParent() == null;
        String message = e.getMessage();
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String first = u.getUnmatched().get(0);
            message = first.startsWith("-") && first.length() > 1 ? "unknown option '" + first + "'"
                    : top ? "unknown command '" + first + "'" : "unexpected argument '" + first + "'";
        }
        io.error((top ? "" : c.getCommandName() + ": ") + lowerFirst(message));
        io.err().println("Try '" + c.getCommandSpec().qualifiedName() + " --help'.");
        return USAGE;
    }

    private static int failure(Console io, CommandLine c, Exception e) {
        String where = c.getParent() == null ? "" : c.getCommandName() + ": ";
        if (e instanceof UsageException) {
            io.error(where + e.getMessage());
            return USAGE;
        }
        if (e instanceof UncheckedIOException || e instanceof IOException) {
            io.error(where + e.getMessage());
            return FAILURE;
        }
        io.error(where + "internal error: " + e);
        return FAILURE;
    }

    /** Picocli's messages start with a capital; the tool's messages continue a {@code gemshrink: } prefix. */
    private static String lowerFirst(String s) {
        if (s == null || s.length() < 2 || !Character.isUpperCase(s.charAt(0))
                || !Character.isLowerCase(s.charAt(1))) {
            return String.valueOf(s);
        }
        return Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }
}
