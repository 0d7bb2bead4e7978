package dev.gemshrink.testing;

import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Picks, at seeded moments, a failure to inject: an {@link IOException} (where the call can throw one), an
 * {@link IllegalStateException} or an {@link InjectedError}, for about {@code percent} of the calls. Feed it to
 * {@link FaultySwapStore}, a faulty evictor or a GPU work.
 *
 * <p>Thread safety: safe for concurrent use; which thread draws which failure depends on scheduling, the sequence of
 * draws on the seed.
 */
public final class FaultSchedule {
    private final SplittableRandom rnd; // guarded by this
    private final int percent;
    private final AtomicLong injected = new AtomicLong();
    private volatile boolean on = true;

    /**
     * Creates a schedule.
     *
     * @param seed    the seed of the draws
     * @param percent how many calls in a hundred fail
     */
    public FaultSchedule(long seed, int percent) {
        this.rnd = new SplittableRandom(seed);
        this.percent = percent;
    }

    /**
     * Returns this call's failure, or null.
     *
     * @param where the injection point, named in the failure's message
     * @param io    whether the call may throw an IOException
     * @return the failure to throw, or null
     */
    public Throwable next(String where, boolean io) {
        int r;
        synchronized (this) {
            r = rnd.nextInt(100);
        }
        if (!on || r >= percent) {
            return null;
        }
        injected.incrementAndGet();
        int kind = r % 3;
        if (kind == 0 && io) {
            return new IOException("injected " + where);
        }
        if (kind <= 1) {
            return new IllegalStateException("injected " + where);
        }
        return new InjectedError(where);
    }

    /**
     * Throws this call's unchecked failure of {@code where}, if any.
     *
     * @param where the injection point
     */
    public void maybe(String where) {
        Throwable t = next(where, false);
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t != null) {
            throw (Error) t;
        }
    }

    /**
     * Returns a supplier of this schedule's failures for {@code where}, for {@link FaultySwapStore}.
     *
     * @param where the injection point
     * @return the supplier (null when a call is not to fail)
     */
    public Supplier<Throwable> of(String where) {
        return () -> next(where, true);
    }

    /** Stops injecting (for the final checks). */
    public void off() {
        on = false;
    }

    /**
     * Returns how many failures were injected.
     *
     * @return failures drawn so far
     */
    public long injected() {
        return injected.get();
    }
}
