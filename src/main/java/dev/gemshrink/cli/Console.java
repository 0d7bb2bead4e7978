package dev.gemshrink.cli;

import java.io.InputStream;
import java.io.PrintStream;

/**
 * The standard streams of one run of the tool, and its one way of printing an error message.
 *
 * @param in  standard input ({@code replay -})
 * @param out results
 * @param err messages
 */
record Console(InputStream in, PrintStream out, PrintStream err) {
    /** Prints {@code gemshrink: <message>} on stderr. */
    void error(String message) {
        err.println("gemshrink: " + message);
    }
}
