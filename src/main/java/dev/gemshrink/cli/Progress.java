package dev.gemshrink.cli;

import java.io.PrintStream;

/**
 * Progress of a simulation: on a terminal one status line rewritten in place, otherwise plain lines now and then.
 */
final class Progress {
    private final PrintStream out;
    private final boolean live;
    private int lastWidth;

    Progress(PrintStream out, boolean live) {
        this.out = out;
        this.live = live;
    }

    /**
     * Returns whether this progress rewrites one line in place (a terminal).
     *
     * @return true when live
     */
    boolean live() {
        return live;
    }

    /** Shows a status: in place on a terminal, as a new line otherwise. */
    void show(String status) {
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
}
