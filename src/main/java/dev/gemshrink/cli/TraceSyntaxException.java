package dev.gemshrink.cli;

import java.util.List;

/** A trace that does not parse: every syntax error found, each as {@code line N: <reason>}. */
final class TraceSyntaxException extends Exception {
    private static final long serialVersionUID = 1L;

    private final List<String> errors;

    TraceSyntaxException(List<String> errors) {
        super(errors.isEmpty() ? "syntax error" : errors.get(0));
        this.errors = List.copyOf(errors);
    }

    /**
     * Returns the errors, in line order.
     *
     * @return lines of the form {@code line N: <reason>}
     */
    List<String> errors() {
        return errors;
    }
}
