package dev.gemshrink.reclaim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalDouble;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pressure source from Linux PSI ({@code /proc/pressure/memory}): reads the "some" stall average over the last 10
 * seconds at a fixed period and runs reclaim through the registry when it exceeds a threshold. Kernel PSI triggers
 * need {@code poll(POLLPRI)} on the file, which Java cannot do, so this polls the averages instead. Where the file
 * is missing (not Linux, or PSI disabled) it logs that and does nothing.
 */
public final class PsiPressureSource implements AutoCloseable {
    /** The PSI memory file. */
    public static final Path PSI_MEMORY = Path.of("/proc/pressure/memory");
    private static final Logger LOG = LoggerFactory.getLogger(PsiPressureSource.class);

    private final ShrinkerRegistry registry;
    private final Path file;
    private final double thresholdPercent;
    private final long pagesPerEvent;
    private final LongAdder events = new LongAdder();
    private final ScheduledExecutorService timer;

    /**
     * Starts polling {@code file} every {@code periodMillis} when it is readable.
     *
     * @param registry         the shrinkers to run
     * @param file             the PSI file (normally {@link #PSI_MEMORY})
     * @param thresholdPercent the "some avg10" percentage that triggers reclaim
     * @param pagesPerEvent    pages to reclaim per trigger
     * @param periodMillis     the polling period
     */
    public PsiPressureSource(ShrinkerRegistry registry, Path file, double thresholdPercent, long pagesPerEvent,
            long periodMillis) {
        this.registry = registry;
        this.file = file;
        this.thresholdPercent = thresholdPercent;
        this.pagesPerEvent = pagesPerEvent;
        if (!Files.isReadable(file) || readSomeAvg10(file).isEmpty()) {
            LOG.info("PSI pressure source skipped: {} is not readable here", file);
            this.timer = null;
            return;
        }
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gemshrink-psi");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(this::poll, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Returns whether the source is polling.
     *
     * @return true when PSI is available
     */
    public boolean isActive() {
        return timer != null;
    }

    /**
     * Returns how often the threshold was exceeded.
     *
     * @return trigger count
     */
    public long events() {
        return events.sum();
    }

    /**
     * Parses the "some avg10" value of a PSI file.
     *
     * @param file a file in the PSI format
     * @return the percentage, or empty when the file cannot be read or parsed
     */
    public static OptionalDouble readSomeAvg10(Path file) {
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                if (line.startsWith("some ")) {
                    for (String f : line.split(" ")) {
                        if (f.startsWith("avg10=")) {
                            return OptionalDouble.of(Double.parseDouble(f.substring(6)));
                        }
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            LOG.debug("cannot read {}", file, e);
        }
        return OptionalDouble.empty();
    }

    private void poll() {
        OptionalDouble v = readSomeAvg10(file);
        if (v.isPresent() && v.getAsDouble() >= thresholdPercent) {
            events.increment();
            try {
                registry.reclaim(pagesPerEvent, true);
            } catch (RuntimeException e) {
                LOG.warn("PSI-triggered reclaim failed", e);
            }
        }
    }

    /**
     * Stops polling and waits (up to 10 seconds) for a reclaim already running to finish. It does not interrupt
     * that reclaim: an interrupt would close any {@code FileChannel} it is writing swap to, for good.
     */
    @Override
    public void close() {
        if (timer != null) {
            timer.shutdown(); // cancels the periodic task; a poll in flight completes
            try {
                if (!timer.awaitTermination(10, TimeUnit.SECONDS)) {
                    LOG.warn("PSI-triggered reclaim still running 10 s after close");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
