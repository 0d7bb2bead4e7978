package dev.gemshrink.drivers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.testing.DriverUnderTest;
import dev.gemshrink.testing.DriverUnderTest.Device;
import dev.gemshrink.testing.OnBothDrivers;
import java.util.concurrent.TimeUnit;

/**
 * A soak of each driver: the shared {@link DriverWorkload} for a fixed time, with a kswapd-like background
 * reclaimer beside the scanner and RAM for about half of the clients' BOs. Nothing is lost, no held BO is reclaimed,
 * and the driver's checker is clean afterwards.
 *
 * <p>Runs for {@code -Dgemshrink.soak.seconds} seconds per driver (default 2) with {@code -Dgemshrink.soak.clients}
 * clients (default 3); the soak profile runs it longer.
 */
class DriverSoakTest {
    private static final long SECONDS = Long.getLong("gemshrink.soak.seconds", 2);
    private static final int CLIENTS = Integer.getInteger("gemshrink.soak.clients", 3);
    private static final int BOS = 6;
    private static final int MIN_PAGES = 4;
    private static final int MAX_PAGES = 24;

    @OnBothDrivers
    void clientsRunUnderBackgroundAndDirectReclaimForTheSoakTimeAndLoseNothing(DriverUnderTest driver)
            throws Exception {
        // Half the average data, but at least one client's largest possible set and a BO more: a Panthor job makes
        // every BO bound in its VM resident at once (validation), and all of a client's BOs share its one VM, so a
        // smaller RAM could refuse a final read legitimately (ENOMEM) however well reclaim works.
        int ramPages = Math.max(CLIENTS * BOS * (MIN_PAGES + MAX_PAGES) / 4, (BOS + 1) * MAX_PAGES);
        try (Device dev = driver.open(ramPages, 64 * 1024)) {
            BackgroundReclaimer kswapd = new BackgroundReclaimer(dev.gem().pool(), dev.gem().shrinkers(),
                    ramPages / 8, ramPages / 4).start();
            DriverWorkload w = new DriverWorkload(dev, new DriverWorkload.Settings(CLIENTS, BOS, MIN_PAGES,
                    MAX_PAGES, Long.MAX_VALUE, TimeUnit.SECONDS.toMillis(SECONDS)));
            try {
                w.run();
            } finally {
                kswapd.close();
            }
            assertThat(kswapd.failures()).as("background reclaims that threw").isZero();
            System.out.printf("%s soak: %d s, %d clients, RAM %d pages, background reclaimer freed %d pages; %s%n",
                    driver, SECONDS, CLIENTS, ramPages, kswapd.reclaimed(), w.finish());
        }
    }
}
