package dev.gemshrink.panfrost;

/**
 * Release helpers for failure and teardown paths: every release is attempted even when an earlier one throws, and
 * nothing is swallowed (the first failure is rethrown, later ones ride along as suppressed).
 */
final class Cleanup {
    private Cleanup() {
    }

    /**
     * Drops one reference of each mapping, all of them even when some fail.
     *
     * @return the first failure (later ones added to it as suppressed), or null
     */
    static Throwable putAll(Iterable<GpuMapping> mappings) {
        Throwable first = null;
        for (GpuMapping m : mappings) {
            try {
                m.put();
            } catch (Throwable t) {
                first = chain(first, t);
            }
        }
        return first;
    }

    /** Returns {@code first}, with {@code next} suppressed on it; {@code next} when there is no first yet. */
    static Throwable chain(Throwable first, Throwable next) {
        if (first == null) {
            return next;
        }
        if (next != first) {
            first.addSuppressed(next);
        }
        return first;
    }

    /** Rethrows a failure caught as Throwable (only unchecked ones can reach the driver's callers). */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected checked failure", t);
    }
}
