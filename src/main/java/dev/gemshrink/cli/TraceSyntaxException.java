package dev.gemshrink.cli;

import java.util.List;

/**
 * A trace that does not parse: the first {@value TraceParser#MAX_ERRORS} syntax errors, each as
 * {@code line N: <reason>}, and how many there were in all.
 */
final class TraceSyntaxException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient List<String> errors; // the exception never leaves the process: not serialized
    private final long total;

    TraceSyntaxException(List<String> errors, long total) {
        super(errors.isEmpty() ? "syntax error" : errors.get(0));
        this.errors = List.copyOf(errors);
        this.total = total;
    }

    /**
     * Returns how many lines had a syntax error, those kept in {@link #errors()} and the others.
     *
     * @return the number of errors
     */
    long total() {
        return total;
    }

    /**
     * Returns the first errors, in line order.
     *
     * @return lines of the form {@code line N: <reason>}
     */
    List<String> errors() {
        return errors;
    }
}
