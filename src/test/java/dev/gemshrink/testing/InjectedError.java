package dev.gemshrink.testing;

/** An error thrown only by fault injectors, so a test can tell an injected failure from a real one. */
public final class InjectedError extends Error {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the error (without a stack trace: it is expected, and cheap to throw often).
     *
     * @param where the injection point
     */
    public InjectedError(String where) {
        super("injected " + where, null, false, false);
    }
}
