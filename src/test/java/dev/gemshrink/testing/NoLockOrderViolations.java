package dev.gemshrink.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.locking.LockValidator;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Registered for every test (JUnit's extension auto-detection): fails a test during which the suite's lock validator
 * recorded a violation, also one thrown in a thread the test does not watch (a GPU thread, a reclaimer), or after
 * which the test thread still holds a library lock.
 */
public final class NoLockOrderViolations implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NoLockOrderViolations.class);

    /** Creates the extension (JUnit does). */
    public NoLockOrderViolations() {
    }

    private static int recorded() {
        return LockValidator.active().map(v -> v.violations().size()).orElse(0);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("before", recorded());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        int before = context.getStore(NS).get("before", Integer.class);
        LockValidator.active().ifPresent(v -> assertThat(v.violations().subList(before, v.violations().size()))
                .as("lock-order violations recorded during the test").isEmpty());
        assertThat(LockValidator.heldByCurrentThread()).as("locks the test thread still holds").isEmpty();
    }
}
