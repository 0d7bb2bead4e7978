package dev.gemshrink.core;

import java.util.Locale;

/**
 * How much a device records about references so that a leak or a count that does not add up can be explained (like
 * Netty's leak detection levels). The default comes from the system property {@code gemshrink.leakDetection}
 * ({@code simple} or {@code paranoid}); a device builder can choose the level instead.
 */
public enum LeakDetection {
    /** Counts per owner kind only; a leak report names the object and the kinds. The default for users. */
    SIMPLE,
    /**
     * Reference tracking: every +1 and -1 of an object's page use, pin, vmap and export counts, on every path, is
     * recorded where the count moves, with its site (the first frame outside the object's own bookkeeping) and the
     * frames above it, until a -1 undoes it. Leak reports and checker violations then name each open transition:
     * the owner kind and where it was acquired, or where a count moved with no owner. Costs a stack walk per
     * transition; the test suite runs with it.
     */
    PARANOID;

    /**
     * Returns the level named by the system property {@code gemshrink.leakDetection}, or {@link #SIMPLE}.
     *
     * @return the default level
     */
    public static LeakDetection fromSystemProperty() {
        String v = System.getProperty("gemshrink.leakDetection", "simple");
        return valueOf(v.trim().toUpperCase(Locale.ROOT));
    }
}
