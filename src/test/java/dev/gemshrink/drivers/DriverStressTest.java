package dev.gemshrink.drivers;

import dev.gemshrink.testing.DriverUnderTest;
import dev.gemshrink.testing.DriverUnderTest.Device;
import dev.gemshrink.testing.OnBothDrivers;
import org.junit.jupiter.api.Timeout;

/**
 * Bounded stress on each driver: three clients on threads of their own run the shared {@link DriverWorkload} (GPU
 * and CPU writes and reads, reclaim, swap-in, holds under a full scan, free and recreate) while a scanner reclaims,
 * with RAM for about two thirds of their BOs; a fixed number of steps, at most 20 seconds. Nothing is lost, no held
 * BO is reclaimed, and the driver's checker is clean afterwards.
 */
@Timeout(120)
class DriverStressTest {
    private static final DriverWorkload.Settings SETTINGS = new DriverWorkload.Settings(3, 4, 2, 10, 400, 20_000);

    @OnBothDrivers
    void clientsReclaimAndHoldsRaceWithoutLosingBytes(DriverUnderTest driver) throws Exception {
        try (Device dev = driver.open(48, 4096)) {
            DriverWorkload w = new DriverWorkload(dev, SETTINGS);
            w.run();
            System.out.println(driver + " stress: " + w.finish());
        }
    }
}
