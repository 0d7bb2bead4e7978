package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** {@link RateLimiter}: a burst per window passes, the rest is dropped, and a new window lets a burst through again. */
class RateLimiterTest {

    @Test
    void aBurstPassesThenEventsAreDropped() {
        RateLimiter r = new RateLimiter(TimeUnit.HOURS.toNanos(1), 3);
        assertThat(r.tryAcquire()).isTrue();
        assertThat(r.tryAcquire()).isTrue();
        assertThat(r.tryAcquire()).isTrue();
        assertThat(r.tryAcquire()).isFalse();
        assertThat(r.tryAcquire()).isFalse();
    }

    @Test
    void theKernelDefaultIsTenPerFiveSeconds() {
        RateLimiter r = RateLimiter.kernelDefault();
        long passed = IntStream.range(0, 25).filter(i -> r.tryAcquire()).count();
        assertThat(passed).isEqualTo(10);
    }

    @Test
    void aNewWindowLetsABurstThroughAgain() {
        AtomicLong now = new AtomicLong(-5); // nanoTime may be negative
        RateLimiter r = new RateLimiter(30, 2, now::get);
        assertThat(r.tryAcquire()).isTrue();
        assertThat(r.tryAcquire()).isTrue();
        assertThat(r.tryAcquire()).isFalse();
        now.addAndGet(29);
        assertThat(r.tryAcquire()).as("still the first window").isFalse();
        now.addAndGet(1);
        assertThat(r.tryAcquire()).as("first of a new window").isTrue();
        assertThat(r.tryAcquire()).isTrue();
        assertThat(r.tryAcquire()).isFalse();
        for (int i = 0; i < 5; i++) {
            now.addAndGet(1000);
            assertThat(r.tryAcquire()).as("first of window %d", i).isTrue();
        }
    }

    @Test
    void aZeroBurstDropsEverything() {
        RateLimiter r = new RateLimiter(TimeUnit.HOURS.toNanos(1), 0);
        assertThat(r.tryAcquire()).isFalse();
    }
}
