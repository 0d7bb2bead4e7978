package dev.gemshrink.cli;

import dev.gemshrink.sim.SimulationStatus;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Progress of a simulation: on a terminal one status line rewritten in place (every 200 ms), otherwise plain lines
 * now and then (every second; in the deterministic mode at 25%, 50% and 75% of the operation budget).
 */
final class Progress implements Consumer<SimulationStatus> {
    private final PrintStream out;
    private final boolean live;
    private int lastWidth;
    private double nextSeconds;
    private int nextQuarter = 1;

    Progress(PrintStream out, boolean live) {
        this.out = out;
        this.live = live;
    }

    @Override
    public void accept(SimulationStatus s) {
        String when;
        if (s.operationBudget() > 0) {
            if (s.operations() * 4 < s.operationBudget() * nextQuarter || nextQuarter > 3) {
                return;
            }
            while (nextQuarter <= 3 && s.operations() * 4 >= s.operationBudget() * nextQuarter) {
                nextQuarter++;
            }
            when = String.format(Locale.ROOT, "%d%% of %d operations", s.operations() * 100 / s.operationBudget(),
                    s.operationBudget());
        } else {
            if (s.elapsedSeconds() < nextSeconds) {
                return;
            }
            nextSeconds = s.elapsedSeconds() + (live ? 0.2 : 1.0);
            if (!live && s.elapsedSeconds() < 1.0) {
                return;
            }
            when = String.format(Locale.ROOT, "%.1f s of %s s", s.elapsedSeconds(), trim(s.plannedSeconds()));
        }
        show(String.format(Locale.ROOT, "[%s] %d ops, %d jobs, resident %s, swapped %s, free %s, %d scans, "
                + "%d ENOMEM", when, s.operations(), s.jobs(), mib(s.residentPages()), mib(s.swappedPages()),
                mib(s.freePages()), s.scans(), s.enomem()));
    }

    /** Shows a status: in place on a terminal, as a new line otherwise. */
    private void show(String status) {
        if (live) {
            String pad = status.length() < lastWidth ? " ".repeat(lastWidth - status.length()) : "";
            out.print("\r" + status + pad);
            out.flush();
            lastWidth = status.length();
        } else {
            out.println(status);
        }
    }

    /** Ends the live line, if any. */
    void end() {
        if (live && lastWidth > 0) {
            out.println();
            lastWidth = 0;
        }
    }

    /** Pages as MiB with one decimal. */
    private static String mib(long pages) {
        return String.format(Locale.ROOT, "%.1f MiB", pages * 4096.0 / (1 << 20));
    }

    static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
