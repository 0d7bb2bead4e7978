package dev.gemshrink.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Turns lock-order validation off for a test class ({@code @ExtendWith(LockValidationOff.class)}): for model
 * checking, which explores every shared memory access, the validator's own shared order matrix included, and would
 * spend its budget there; and for a single-threaded harness that deliberately holds one lock across steps taking
 * others of its class in any order. Each use says why.
 */
public final class LockValidationOff implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(LockValidationOff.class);

    /** Creates the extension (JUnit does). */
    public LockValidationOff() {
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NS).put("isolation", IsolatedLockValidator.off());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        context.getStore(NS).get("isolation", IsolatedLockValidator.class).close();
    }
}
