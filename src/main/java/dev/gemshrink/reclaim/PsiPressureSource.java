package dev.gemshrink.reclaim;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
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
 *
 * <p>Whatever a poll's reclaim throws, an Error included, is logged and counted ({@link #failures()}) and polling
 * goes on: a periodic task that throws is never run again, which would leave the source silently dead although
 * {@link #isActive()} says otherwise. (The registry has restored its own state before a throw leaves it, and this
 * thread is the top of the reclaim's stack, with no caller to hand an Error to.)
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
    private final LongAdder failures = new LongAdder();
    private final ScheduledExecutorService timer;
    private volatile Thread timerThread; // the timer's one thread, once started

    /**
     * Starts polling {@code file} every {@code periodMillis} when it is readable.
     *
     * @param registry         the shrinkers to run
     * @param file             the PSI file (normally {@link #PSI_MEMORY})
     * @param thresholdPercent the "some avg10" percentage, 0 to 100, that triggers reclaim
     * @param pagesPerEvent    pages to reclaim per trigger, at least 1
     * @param periodMillis     the polling period, at least 1
     * @throws GemException EINVAL when a number is out of range
     */
    public PsiPressureSource(ShrinkerRegistry registry, Path file, double thresholdPercent, long pagesPerEvent,
            long periodMillis) {
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(file, "file");
        if (!(thresholdPercent >= 0 && thresholdPercent <= 100)) {
            throw new GemException(Errno.EINVAL, "PSI threshold must be 0..100 %: " + thresholdPercent);
        }
        if (pagesPerEvent < 1) {
            throw new GemException(Errno.EINVAL, "PSI pages per event must be >= 1: " + pagesPerEvent);
        }
        if (periodMillis < 1) {
            throw new GemException(Errno.EINVAL, "PSI polling period must be >= 1 ms: " + periodMillis);
        }
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
            timerThread = t;
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
     * Returns the polls whose reclaim threw (each logged).
     *
     * @return failed reclaim count
     */
    public long failures() {
        return failures.sum();
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
        try {
            OptionalDouble v = readSomeAvg10(file);
            if (v.isPresent() && v.getAsDouble() >= thresholdPercent) {
                events.increment();
                registry.reclaim(pagesPerEvent, true);
            }
        } catch (Throwable t) { // never out of a periodic task: it would not run again
            failures.increment();
            if (t instanceof Error) {
                LOG.error("PSI-triggered reclaim failed with an error; polling goes on", t);
            } else {
                LOG.warn("PSI-triggered reclaim failed", t);
            }
        }
    }

    /**
     * Stops polling and waits (up to 10 seconds, unless called from that reclaim itself) for a reclaim already
     * running to finish. It does not interrupt that reclaim: an interrupt would close any {@code FileChannel} it is
     * writing swap to, for good.
     */
    @Override
    public void close() {
        if (timer != null) {
            timer.shutdown(); // cancels the periodic task; a poll in flight completes
            if (Thread.currentThread() == timerThread) {
                return; // the poll in flight is this caller's
            }
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
