package dev.gemshrink.core;

/**
 * Work that runs while a reference on a {@link ShmemObject} is held, the call itself being the reference's owner:
 * {@link ShmemObject#withPin}, {@link ShmemObject#withPages} and {@link ShmemObject#withVmap} take the reference,
 * run this, and drop the reference when it returns or throws. The caller never holds anything it could close twice,
 * keep after the call or lose, so the object needs no owner object for it: with leak detection
 * {@link LeakDetection#SIMPLE} and the count already above zero, the whole call allocates nothing as long as the
 * function does not (pass a non-capturing lambda or a constant, and its input through {@code arg}).
 *
 * @param <A> the type of the argument passed through
 * @param <R> the type of the result
 */
@FunctionalInterface
public interface HeldCall<A, R> {
    /**
     * Runs while the reference is held.
     *
     * @param obj the object the reference is on
     * @param arg the argument given to the {@code with} method
     * @return the result the {@code with} method returns
     */
    R call(ShmemObject obj, A arg);
}
