package dev.gemshrink.sim;

import java.util.List;

/**
 * A trace that does not parse (a trace of driver calls or an {@link AccessTrace}): the first {@value #MAX_ERRORS}
 * syntax errors, each as {@code line N: <reason>}, and how many there were in all.
 */
public final class TraceSyntaxException extends Exception {
    /** How many syntax errors a parser keeps for printing; the rest are only counted. */
    public static final int MAX_ERRORS = 50;
    private static final long serialVersionUID = 1L;

    private final transient List<String> errors; // the exception never leaves the process: not serialized
    /** How many lines had a syntax error, those in {@code errors} and the others. */
    private final long total;

    /**
     * Creates the exception.
     *
     * @param errors the first errors (at most {@value #MAX_ERRORS}), in line order
     * @param total  how many errors there were in all
     */
    public TraceSyntaxException(List<String> errors, long total) {
        super(errors.isEmpty() ? "syntax error" : errors.get(0));
        this.errors = List.copyOf(errors);
        this.total = total;
    }

    /**
     * Returns how many lines had a syntax error, those kept in {@link #errors()} and the others.
     *
     * @return the number of errors
     */
    public long total() {
        return total;
    }

    /**
     * Returns the first errors, in line order.
     *
     * @return lines of the form {@code line N: <reason>}
     */
    public List<String> errors() {
        return errors;
    }
}
