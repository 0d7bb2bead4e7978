package dev.gemshrink.core;

import java.util.Locale;

/**
 * How much a device records about owners so that a leak can be explained (like Netty's leak detection levels).
 * The default comes from the system property {@code gemshrink.leakDetection} ({@code simple} or {@code paranoid}).
 */
public enum LeakDetection {
    /** Counts per owner kind only; a leak report names the object and the kinds. No cost on the hot paths. */
    SIMPLE,
    /** Also records the stack where each owner was acquired, and lists every live owner in leak reports. Slow. */
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
