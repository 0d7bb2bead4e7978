package dev.gemshrink.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ShmemObject;
import java.util.List;

/** The one way tests assert invariants: through {@link InvariantChecker}, after every step. */
public final class Invariants {
    private Invariants() {
    }

    /**
     * Asserts that the device and all its objects satisfy every invariant.
     *
     * @param device the device
     */
    public static void assertClean(GemDevice device) {
        List<Violation> v = InvariantChecker.check(device);
        assertThat(v).as("invariant violations").isEmpty();
    }

    /**
     * Asserts that one object satisfies every invariant.
     *
     * @param obj the object
     */
    public static void assertClean(ShmemObject obj) {
        List<Violation> v = InvariantChecker.check(obj);
        assertThat(v).as("invariant violations of %s", obj.name()).isEmpty();
    }

    /**
     * Asserts that the device holds no memory and knows no objects (after everything was freed).
     *
     * @param device the device
     */
    public static void assertEmpty(GemDevice device) {
        assertClean(device);
        assertThat(device.objects()).as("objects left").isEmpty();
        assertThat(device.pool().usedPages()).as("pool pages in use").isZero();
        assertThat(device.swap().usedPages()).as("swap pages in use").isZero();
    }
}
