package dev.gemshrink.testing;

import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.ReclaimHook;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A {@link ReclaimHook} for tests that throws a chosen {@link RuntimeException} or {@link Error} whenever a page
 * allocation runs short: install it with {@link PagePool#setReclaimHook} and every allocation that does not fit
 * fails with that throwable, before the pool has changed anything. This reaches the failure paths of whatever
 * allocates pages (opening a BO, swapping in, growing a heap) with throwables a {@code GemException} handler misses.
 *
 * <p>Thread safety: the counter is atomic.
 */
public final class ThrowingReclaimHook implements ReclaimHook {
    private final Supplier<? extends Throwable> failure;
    private final AtomicInteger calls = new AtomicInteger();

    private ThrowingReclaimHook(Supplier<? extends Throwable> failure) {
        this.failure = Objects.requireNonNull(failure);
    }

    /**
     * Makes a hook that throws an error.
     *
     * @param failure makes the error (an OutOfMemoryError, AssertionError...)
     * @return the hook
     */
    public static ThrowingReclaimHook error(Supplier<? extends Error> failure) {
        return new ThrowingReclaimHook(failure);
    }

    /**
     * Makes a hook that throws a runtime exception.
     *
     * @param failure makes the exception
     * @return the hook
     */
    public static ThrowingReclaimHook runtimeException(Supplier<? extends RuntimeException> failure) {
        return new ThrowingReclaimHook(failure);
    }

    /**
     * Returns how often an allocation ran short and the hook threw.
     *
     * @return calls so far
     */
    public int calls() {
        return calls.get();
    }

    @Override
    public long reclaim(long pages) {
        calls.incrementAndGet();
        Throwable t = failure.get();
        if (t instanceof RuntimeException r) {
            throw r;
        }
        throw (Error) t; // only runtime exceptions and errors can be chosen
    }
}
