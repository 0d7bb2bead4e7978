package dev.gemshrink.cli;

import dev.gemshrink.sim.TraceSyntaxException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code gemshrink replay FILE}: reads a trace (format v1; UTF-8, a byte-order mark allowed; {@code -} for standard
 * input), refuses it whole when any line has a syntax error (the first {@value TraceSyntaxException#MAX_ERRORS}
 * errors are printed, then a count of the rest), and otherwise runs it.
 */
@Command(name = "replay", mixinStandardHelpOptions = true, versionProvider = BuildInfo.class,
        description = {"Run a trace of driver calls (see docs/trace-format.md; device driver=panthor selects the "
                + "Panthor-like driver) and print each command's result.", "Exit 0 when every expect held and the final check is clean, 1 otherwise, 2 on a "
                + "syntax error or an unreadable or empty trace."})
final class ReplayCommand implements Callable<Integer> {
    private final Console io;

    @Parameters(paramLabel = "FILE", description = "the trace file; - reads standard input")
    private String file;

    ReplayCommand(Console io) {
        this.io = io;
    }

    @Override
    public Integer call() throws UsageException {
        List<TraceCommand> trace;
        try {
            trace = TraceParser.parse(TraceInput.readText(io, file).lines().toList());
        } catch (TraceSyntaxException e) {
            return TraceInput.reportSyntaxErrors(io, "replay", file, e);
        }
        if (trace.isEmpty()) {
            throw new UsageException(TraceInput.displayName(file) + ": no commands");
        }
        boolean panthor = trace.get(0) instanceof TraceCommand.Device d && d.panthor();
        TraceReplay replay = panthor ? new PanthorReplayExecutor(io.out(), io.err())
                : new ReplayExecutor(io.out(), io.err());
        return replay.run(trace);
    }
}
