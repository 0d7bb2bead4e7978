package dev.gemshrink.panthor;

/** Collects the failures of teardown steps that must all be attempted: the first is rethrown, later ones suppressed. */
final class Failures {
    private Throwable first;

    /** Records a failure. */
    void add(Throwable t) {
        if (first == null) {
            first = t;
        } else if (t != first) {
            first.addSuppressed(t);
        }
    }

    /** Rethrows the first failure, if any (only unchecked ones reach the driver's teardown). */
    void rethrow() {
        if (first instanceof RuntimeException r) {
            throw r;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new IllegalStateException(first);
        }
    }
}
