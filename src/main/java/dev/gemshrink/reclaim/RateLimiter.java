package dev.gemshrink.reclaim;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * Lets a burst of events through per interval and drops the rest, like the kernel's printk rate limit (default 10
 * per 5 seconds). Lock-free: the window's start and its count are one value, replaced by compare-and-set, so a
 * new window and its first event are one step.
 */
public final class RateLimiter {
    private final long intervalNanos;
    private final int burst;
    private final LongSupplier clock;
    private final AtomicReference<Window> window = new AtomicReference<>(); // null until the first event

    /** A window: when it started and the events counted in it (counting stops past the burst). */
    private record Window(long start, long count) {
    }

    /**
     * Creates a limiter.
     *
     * @param intervalNanos the window length
     * @param burst         events allowed per window
     */
    public RateLimiter(long intervalNanos, int burst) {
        this(intervalNanos, burst, System::nanoTime);
    }

    /** Creates a limiter reading time, in nanoseconds, from {@code clock} (tests). */
    RateLimiter(long intervalNanos, int burst, LongSupplier clock) {
        this.intervalNanos = intervalNanos;
        this.burst = burst;
        this.clock = clock;
    }

    /**
     * Creates the kernel's default limiter: 10 events per 5 seconds.
     *
     * @return a new limiter
     */
    public static RateLimiter kernelDefault() {
        return new RateLimiter(5_000_000_000L, 10);
    }

    /**
     * Records an event and says whether it may be reported.
     *
     * @return true when within the burst of the current window
     */
    public boolean tryAcquire() {
        long now = clock.getAsLong();
        while (true) {
            Window w = window.get();
            Window next;
            if (w == null || now - w.start() >= intervalNanos) {
                next = new Window(now, 1);
            } else if (w.count() > burst) {
                return false;
            } else {
                next = new Window(w.start(), w.count() + 1);
            }
            if (window.compareAndSet(w, next)) {
                return next.count() <= burst;
            }
        }
    }
}
