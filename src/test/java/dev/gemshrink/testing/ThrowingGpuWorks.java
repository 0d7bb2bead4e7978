package dev.gemshrink.testing;

import dev.gemshrink.panfrost.GpuContext;
import dev.gemshrink.panfrost.GpuWork;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A factory of {@link GpuWork}s that share one call counter: every work it makes runs its inner work, except that
 * the chosen call (1-based, counted over all the works it made) throws a chosen {@link RuntimeException} or
 * {@link Error} instead, before touching any memory. Use it to fault one job among many, whatever it throws.
 *
 * <p>Thread safety: the counter is atomic; works may run on any thread (normally the GPU thread).
 */
public final class ThrowingGpuWorks {
    private final int failOnCall;
    private final Supplier<? extends Throwable> failure;
    private final AtomicInteger calls = new AtomicInteger();

    private ThrowingGpuWorks(int failOnCall, Supplier<? extends Throwable> failure) {
        if (failOnCall < 1) {
            throw new IllegalArgumentException("calls are counted from 1: " + failOnCall);
        }
        this.failOnCall = failOnCall;
        this.failure = Objects.requireNonNull(failure);
    }

    /**
     * Makes a factory whose works throw a runtime exception on the chosen call.
     *
     * @param failOnCall the call that throws, counted from 1
     * @param failure    makes the exception to throw
     * @return the factory
     */
    public static ThrowingGpuWorks runtimeExceptionOnCall(int failOnCall, Supplier<? extends RuntimeException> failure) {
        return new ThrowingGpuWorks(failOnCall, failure);
    }

    /**
     * Makes a factory whose works throw an error on the chosen call.
     *
     * @param failOnCall the call that throws, counted from 1
     * @param failure    makes the error to throw (an AssertionError, StackOverflowError, OutOfMemoryError...)
     * @return the factory
     */
    public static ThrowingGpuWorks errorOnCall(int failOnCall, Supplier<? extends Error> failure) {
        return new ThrowingGpuWorks(failOnCall, failure);
    }

    /**
     * Makes a work that touches no memory (unless it is the one that throws).
     *
     * @return a new work sharing this factory's counter
     */
    public GpuWork work() {
        return work(GpuWork.NONE);
    }

    /**
     * Makes a work that runs {@code inner}, unless its call is the chosen one.
     *
     * @param inner what the work does when it does not throw
     * @return a new work sharing this factory's counter
     */
    public GpuWork work(GpuWork inner) {
        Objects.requireNonNull(inner);
        return ctx -> run(inner, ctx);
    }

    /**
     * Returns how many times the works of this factory have been called.
     *
     * @return calls so far
     */
    public int calls() {
        return calls.get();
    }

    private void run(GpuWork inner, GpuContext ctx) {
        if (calls.incrementAndGet() == failOnCall) {
            Throwable t = failure.get();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) t; // the factories only accept runtime exceptions and errors
        }
        inner.run(ctx);
    }
}
