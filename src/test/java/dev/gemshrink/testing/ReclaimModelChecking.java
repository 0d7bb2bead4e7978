package dev.gemshrink.testing;

import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.locking.LockValidator;
import org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;

/** The Lincheck settings every model check of reclaim (a shrinker scan racing the objects' users) needs. */
public final class ReclaimModelChecking {
    private ReclaimModelChecking() {
    }

    /**
     * Adds what a reclaim model check leaves out of the analysis, and reports a failing scenario as found.
     *
     * @param options the options
     * @return the same options
     */
    public static ModelCheckingOptions excludingBookkeeping(ModelCheckingOptions options) {
        return options
                // Minimising a failing scenario re-runs the search many times (over ten minutes): report the first
                // failing scenario as found, so a failure stays bounded in time too.
                .minimizeFailedScenario(false)
                // The checker runs single-threaded after the operations: analysing it (every field read a potential
                // switch point, every object tracked) would dominate the run time.
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(InvariantChecker.class.getName()).allMethods()
                        .ignore())
                // Logging (the shrinker's rate-limited "Purging N bytes") is not part of the model.
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(
                        (String c) -> c.startsWith("org.slf4j.") || c.startsWith("ch.qos.logback."))
                        .allMethods().ignore())
                // The lock validator checks lock order, not data races: its own bookkeeping is not explored.
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(
                        (String c) -> c.startsWith(LockValidator.class.getName())).allMethods().ignore())
                // The rate limiter's window is an immutable record, which Lincheck cannot take field offsets of.
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses("dev.gemshrink.reclaim.RateLimiter$Window")
                        .allMethods().ignore());
    }
}
