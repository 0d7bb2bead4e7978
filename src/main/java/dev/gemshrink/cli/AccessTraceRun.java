package dev.gemshrink.cli;

import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.sim.AccessTrace;
import dev.gemshrink.sim.AccessTraceReplay;
import dev.gemshrink.sim.TraceSyntaxException;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;

/**
 * {@code gemshrink simulate --workload trace}: reads and parses the whole access trace (refused whole on a syntax
 * error or when it has no requests), then replays it under each policy on a fresh device and prints one line per
 * policy, then {@code simulate: ok}.
 */
final class AccessTraceRun {
    private AccessTraceRun() {
    }

    /**
     * Runs the replay.
     *
     * @param io       the streams
     * @param file     the trace's path, or {@code -}
     * @param capacity the RAM in pages
     * @param policies the policies, in the order to print them
     * @return the exit status
     * @throws UsageException when the trace cannot be read or has no requests
     */
    static int run(Console io, String file, int capacity, List<ReclaimPolicy> policies) throws UsageException {
        AccessTrace trace;
        try {
            trace = AccessTrace.parse(new StringReader(TraceInput.readText(io, file)));
        } catch (TraceSyntaxException e) {
            return TraceInput.reportSyntaxErrors(io, "simulate", file, e);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringReader does not fail
        }
        if (trace.requests() == 0) {
            throw new UsageException(TraceInput.displayName(file) + ": no requests");
        }
        io.out().println(String.format(Locale.ROOT, "simulate: workload=trace trace=%s requests=%d capacity=%d pages",
                file, trace.requests(), capacity));
        for (ReclaimPolicy p : policies) {
            io.out().println(AccessTraceReplay.run(trace, p, capacity).line());
        }
        io.out().println("simulate: ok");
        return Main.OK;
    }
}
