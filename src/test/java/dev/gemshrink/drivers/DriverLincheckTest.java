package dev.gemshrink.drivers;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.panfrost.PanfrostDevice;
import dev.gemshrink.panthor.PanthorDevice;
import dev.gemshrink.testing.CapturedLog;
import dev.gemshrink.testing.ReclaimModelChecking;
import org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking at the driver level, on both drivers in one check (each operation names its driver):
 * BOs created, read by the CPU, pinned and freed through the driver race the device shrinker's scan (the operations
 * and what they check: {@link DriverScenario}). One check, not one per driver: a check's fixed cost (Lincheck
 * preparing the classes) is most of its time here. Each interleaving runs whole driver paths under Lincheck's
 * analysis (about a second each on 2 cores), so the defaults explore few;
 * {@code -Dgemshrink.lincheck.driverIterations} and {@code -Dgemshrink.lincheck.driverInvocations} (set higher by the
 * soak profile) search deeper.
 */
class DriverLincheckTest {

    @Test
    void createUseAndFreeRaceTheShrinkerOnBothDrivers() {
        ModelCheckingOptions options = ReclaimModelChecking.excludingBookkeeping(new ModelCheckingOptions()
                .iterations(Integer.getInteger("gemshrink.lincheck.driverIterations", 2))
                .invocationsPerIteration(Integer.getInteger("gemshrink.lincheck.driverInvocations", 5))
                .threads(2)
                .actorsPerThread(2)
                .actorsBefore(1)
                .actorsAfter(1))
                // The drivers' checkers run single-threaded after each part, like the core's.
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(PanfrostDevice.class.getName(),
                        PanthorDevice.class.getName()).methods("check").ignore())
                // Leaf code that runs under its own lock or the object's reservation lock and never calls back into
                // an object: switch points inside it only dilute the search.
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses("dev.gemshrink.memory.PagePool",
                        "dev.gemshrink.memory.HeapPageBacking", "dev.gemshrink.memory.MemorySwapStore",
                        "dev.gemshrink.core.ScatterList").allMethods().treatAsAtomic());
        // Freeing a BO while another thread's pin or read is in flight is a legal, logged leak.
        try (CapturedLog log = CapturedLog.of(ShmemObject.class)) {
            options.check(DriverScenario.class);
            assertThat(log.messages(Level.WARN)).allMatch(m -> m.contains(" freed with live owners"));
        }
    }
}
