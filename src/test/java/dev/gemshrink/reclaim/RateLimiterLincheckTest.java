package dev.gemshrink.reclaim;

import org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of {@link RateLimiter#tryAcquire()} with a clock that stands still: every call falls in
 * the window the first one opens, so exactly {@code burst} calls pass, whatever the interleaving (the sequential
 * specification: the first two calls pass, the rest are dropped).
 */
public class RateLimiterLincheckTest {
    private final RateLimiter limiter = new RateLimiter(1_000, 2, () -> 0L);

    /** Creates the limiter under test (burst 2, one window). */
    public RateLimiterLincheckTest() {
    }

    /**
     * Records an event.
     *
     * @return whether it may be reported
     */
    @Operation
    public boolean tryAcquire() {
        return limiter.tryAcquire();
    }

    /** Runs the model checker. */
    @Test
    void modelCheck() {
        new ModelCheckingOptions()
                .iterations(20)
                .invocationsPerIteration(500)
                .threads(3)
                .actorsPerThread(2)
                .actorsBefore(0)
                .actorsAfter(1)
                .minimizeFailedScenario(false)
                // A window is an immutable record: nothing in it to interleave, and Lincheck cannot take the field
                // offsets of a record (it warned about each one).
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(RateLimiter.class.getName() + "$Window")
                        .allMethods().ignore())
                .check(RateLimiterLincheckTest.class);
    }
}
