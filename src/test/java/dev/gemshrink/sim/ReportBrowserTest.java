package dev.gemshrink.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gemshrink.testing.PngImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report in a real browser: headless Chromium opens the file and takes a screenshot, and the charts' colours must
 * be on it. Skipped, saying why, where {@value #CHROMIUM} is not installed.
 */
class ReportBrowserTest {
    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final int WIDTH = 1060;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void chromiumRendersTheCharts() throws Exception {
        assumeTrue(Files.isExecutable(Path.of(CHROMIUM)), CHROMIUM + " is not installed: the report is not checked "
                + "in a browser (apt-get install chromium)");
        SimulationResult r = new Simulation(SimulationConfig.builder().workload(Workload.BROWSER).threads(1)
                .operations(1_500).ramBytes(8L << 20).swapBytes(16L << 20).seed(3).build()).run();
        Path html = tmp.resolve("report.html");
        HtmlReport.write(html, ReportHeader.of("browser test"), List.of(r));
        Path png = tmp.resolve("report.png");
        Process p = new ProcessBuilder(CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--user-data-dir=" + Files.createDirectory(tmp.resolve("profile")),
                "--window-size=" + WIDTH + ",1400", "--screenshot=" + png, html.toUri().toString())
                .redirectOutput(tmp.resolve("chromium.out").toFile())
                .redirectError(tmp.resolve("chromium.err").toFile())
                .start();
        try {
            assertThat(p.waitFor(150, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        } finally {
            p.destroyForcibly();
        }
        assertThat(png).as("%s", Files.readString(tmp.resolve("chromium.err"))).exists();
        PngImage img = PngImage.decode(Files.readAllBytes(png));
        assertThat(img.width()).isEqualTo(WIDTH);
        assertThat(img.height()).isEqualTo(1400);
        // Resident memory (lines, bars, stacked band), the purged bars and the ENOMEM-free legend are painted.
        assertThat(img.count(0x1f77b4)).as("resident blue").isGreaterThan(1_000);
        assertThat(img.count(0xff7f0e)).as("purged orange").isGreaterThan(200);
        assertThat(img.count(0xffffff)).as("a white page").isGreaterThan(WIDTH * 1400L / 2);
    }
}
