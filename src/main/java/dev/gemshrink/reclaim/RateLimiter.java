package dev.gemshrink.reclaim;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Lets a burst of events through per interval and drops the rest, like the kernel's printk rate limit (default 10
 * per 5 seconds). Lock-free.
 */
public final class RateLimiter {
    private final long intervalNanos;
    private final int burst;
    private final AtomicLong windowStart = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong inWindow = new AtomicLong();

    /**
     * Creates a limiter.
     *
     * @param intervalNanos the window length
     * @param burst         events allowed per window
     */
    public RateLimiter(long intervalNanos, int burst) {
        this.intervalNanos = intervalNanos;
        this.burst = burst;
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
        long now = System.nanoTime();
        long start = windowStart.get();
        if (start == Long.MIN_VALUE || now - start >= intervalNanos) {
            if (windowStart.compareAndSet(start, now)) {
                inWindow.set(0);
            }
        }
        return inWindow.incrementAndGet() <= burst;
    }
}
