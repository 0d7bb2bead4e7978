package dev.gemshrink.sim;

import dev.gemshrink.core.GemDevice;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * The victim policies an {@link AccessTraceReplay} can run a device under: the order in which direct reclaim purges
 * DONTNEED objects. This enum is the one list of them; a policy is one constant that sets up the device.
 */
public enum ReplayPolicy {
    /** The shrinker's own order: the purge pass takes the least recently changed DONTNEED object first. */
    LRU(b -> b);

    private final UnaryOperator<GemDevice.Builder> setup;

    ReplayPolicy(UnaryOperator<GemDevice.Builder> setup) {
        this.setup = setup;
    }

    /**
     * Returns the policy's name as the command line spells it.
     *
     * @return for example {@code lru}
     */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Finds a policy by its {@link #id()}.
     *
     * @param id the name
     * @return the policy, or empty when there is none of that name
     */
    public static Optional<ReplayPolicy> byId(String id) {
        return Arrays.stream(values()).filter(p -> p.id().equals(id)).findFirst();
    }

    /**
     * Returns the names of all policies, comma-separated, for messages.
     *
     * @return for example {@code lru}
     */
    public static String ids() {
        return Arrays.stream(values()).map(ReplayPolicy::id).collect(Collectors.joining(", "));
    }

    /** Sets up a device builder for this policy. */
    GemDevice.Builder configure(GemDevice.Builder b) {
        return setup.apply(b);
    }
}
