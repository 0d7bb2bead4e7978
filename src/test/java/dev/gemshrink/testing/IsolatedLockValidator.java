package dev.gemshrink.testing;

import dev.gemshrink.locking.LockValidator;

/**
 * A lock validator of its own for one test, replacing the process-wide one until closed: a test that provokes
 * lock-order violations learns and reports them here, without teaching the suite's validator its inverted orders.
 * Create it and close it while the test thread holds no library lock.
 */
public final class IsolatedLockValidator implements AutoCloseable {
    private final LockValidator validator;
    private final LockValidator previous;

    private IsolatedLockValidator(LockValidator validator) {
        this.validator = validator;
        this.previous = LockValidator.install(validator);
    }

    /**
     * Puts a fresh validator in force.
     *
     * @param mode REPORT or STRICT
     * @return the isolation; close it to restore the suite's validator
     */
    public static IsolatedLockValidator of(LockValidator.Mode mode) {
        return new IsolatedLockValidator(new LockValidator(mode));
    }

    /**
     * Turns validation off (for model checking, where the validator's own shared state would be explored too).
     *
     * @return the isolation; close it to restore the suite's validator
     */
    public static IsolatedLockValidator off() {
        return new IsolatedLockValidator(null);
    }

    /**
     * Returns the validator in force.
     *
     * @return the validator, or null when off
     */
    public LockValidator validator() {
        return validator;
    }

    @Override
    public void close() {
        LockValidator.install(previous);
    }
}
