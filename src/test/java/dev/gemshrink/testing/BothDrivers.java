package dev.gemshrink.testing;

import dev.gemshrink.panfrost.PanfrostUnderTest;
import dev.gemshrink.panthor.PanthorUnderTest;
import java.util.List;

/** The driver models every shared driver test runs on. */
public final class BothDrivers {
    private BothDrivers() {
    }

    /**
     * Returns the drivers, in a fixed order.
     *
     * @return Panfrost, then Panthor
     */
    public static List<DriverUnderTest> all() {
        return List.of(PanfrostUnderTest.DRIVER, PanthorUnderTest.DRIVER);
    }
}
