package dev.gemshrink.cli;

import java.nio.file.Path;
import java.util.Locale;

/** The options of {@code simulate}, checked by {@link SimulateCommand}. */
final class SimulateOptions {
    static final long MIN_RAM = 4L << 20;
    static final long MAX_RAM = 16L << 30;

    String workload = "glmark2";
    long ramBytes = 64L << 20;
    long swapBytes = 128L << 20;
    Path swapFile;
    double seconds = 5;
    int threads = 4;
    long seed;
    boolean seedGiven;
    Path report;

    SimulateOptions() {
    }

    /**
     * Returns whether the run is deterministic (one thread: everything driven from it, bounded by operations).
     *
     * @return true with {@code --threads 1}
     */
    boolean deterministic() {
        return threads == 1;
    }

    int ramPages() {
        return (int) (ramBytes / 4096);
    }

    long swapPages() {
        return swapBytes / 4096;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "workload=%s threads=%d seed=%d ram=%s swap=%s", workload, threads, seed,
                Sizes.format(ramBytes), Sizes.format(swapBytes));
    }
}
