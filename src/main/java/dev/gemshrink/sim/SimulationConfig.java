package dev.gemshrink.sim;

import dev.gemshrink.memory.PageBacking;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.reclaim.ReclaimPolicy;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link Simulation} runs: the workload, the device's RAM, swap and reclaim policy, how long, on how many
 * threads, and the random seed. Immutable; made with {@link #builder()}.
 *
 * <p>With several threads the run lasts {@link #seconds()} of wall time. With one thread it is deterministic and
 * bounded by {@link #operations()}: by default {@code seconds} times the workload's
 * {@link Workload#operationsPerSecond()}.
 */
public final class SimulationConfig {
    /** The smallest RAM budget: 4 MiB. */
    public static final long MIN_RAM = 4L << 20;
    /** The largest RAM budget: 16 GiB. */
    public static final long MAX_RAM = 16L << 30;
    /** The most worker threads. */
    public static final int MAX_THREADS = 64;
    /** The longest run, in seconds. */
    public static final double MAX_SECONDS = 86_400;

    private final Workload workload;
    private final Driver driver;
    private final long ramBytes;
    private final long swapBytes;
    private final Path swapFile;
    private final PageBacking.Kind backing;
    private final ReclaimPolicy policy;
    private final double seconds;
    private final long operations;
    private final int threads;
    private final long seed;

    private SimulationConfig(Builder b) {
        this.workload = b.workload;
        this.driver = b.driver;
        this.ramBytes = b.ramBytes;
        this.swapBytes = b.swapBytes;
        this.swapFile = b.swapFile;
        this.backing = b.backing;
        this.policy = b.policy;
        this.seconds = b.seconds;
        this.threads = b.threads;
        this.seed = b.seed;
        this.operations = b.operations > 0 ? b.operations
                : Math.max(1, Math.round(b.seconds * b.workload.operationsPerSecond()));
    }

    /**
     * Starts a configuration: glmark2 on panfrost, 64 MiB of RAM, 128 MiB of in-memory swap, the {@link ReclaimPolicy#lru() lru}
     * policy, 5 seconds, 4 threads, seed 1.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the workload.
     *
     * @return what the workers do
     */
    public Workload workload() {
        return workload;
    }

    /**
     * Returns the driver the workload runs on.
     *
     * @return the driver
     */
    public Driver driver() {
        return driver;
    }

    /**
     * Returns the RAM budget.
     *
     * @return bytes, a multiple of the page size
     */
    public long ramBytes() {
        return ramBytes;
    }

    /**
     * Returns the swap capacity.
     *
     * @return bytes (0: no swap, nothing is evicted)
     */
    public long swapBytes() {
        return swapBytes;
    }

    /**
     * Returns the file that holds swap, if any.
     *
     * @return the path of a new file the run creates and deletes, or empty for in-memory swap
     */
    public Optional<Path> swapFile() {
        return Optional.ofNullable(swapFile);
    }

    /**
     * Returns how long a threaded run lasts.
     *
     * @return wall-clock seconds
     */
    public double seconds() {
        return seconds;
    }

    /**
     * Returns the operation budget of a deterministic (single-threaded) run.
     *
     * @return driver calls
     */
    public long operations() {
        return operations;
    }

    /**
     * Returns the number of worker threads.
     *
     * @return 1 to {@value #MAX_THREADS}
     */
    public int threads() {
        return threads;
    }

    /**
     * Returns the random seed.
     *
     * @return the seed every worker's random source derives from
     */
    public long seed() {
        return seed;
    }

    /**
     * Returns where the bytes of the RAM budget live.
     *
     * @return the page backing's kind
     */
    public PageBacking.Kind backing() {
        return backing;
    }

    /**
     * Returns the reclaim policy the device is built with: the order in which its shrinker tries the reclaimable
     * objects of each pass.
     *
     * @return the policy
     */
    public ReclaimPolicy policy() {
        return policy;
    }

    /**
     * Returns whether the run is deterministic (one thread drives everything, bounded by operations).
     *
     * @return true with one thread
     */
    public boolean deterministic() {
        return threads == 1;
    }

    int ramPages() {
        return (int) (ramBytes / PagePool.PAGE_SIZE);
    }

    long swapPages() {
        return swapBytes / PagePool.PAGE_SIZE;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "workload=%s policy=%s threads=%d seed=%d ram=%s swap=%s%s driver=%s",
                workload.id(), policy.name(), threads, seed, mib(ramBytes), mib(swapBytes),
                backing == PageBacking.Kind.HEAP ? "" : " backing=" + backing.name().toLowerCase(Locale.ROOT),
                driver.id());
    }

    /** Bytes as MiB, with decimals only when needed. */
    private static String mib(long bytes) {
        double m = bytes / (double) (1 << 20);
        return (m == Math.rint(m) ? Long.toString((long) m) : String.format(Locale.ROOT, "%.2f", m)) + " MiB";
    }

    /** Builds a {@link SimulationConfig}; every setter checks its value. */
    public static final class Builder {
        private Workload workload = Workload.GLMARK2;
        private Driver driver = Driver.PANFROST;
        private long ramBytes = 64L << 20;
        private long swapBytes = 128L << 20;
        private Path swapFile;
        private PageBacking.Kind backing = PageBacking.Kind.HEAP;
        private ReclaimPolicy policy = ReclaimPolicy.lru();
        private double seconds = 5;
        private long operations;
        private int threads = 4;
        private long seed = 1;

        private Builder() {
        }

        /**
         * Sets the workload.
         *
         * @param w the workload
         * @return this builder
         */
        public Builder workload(Workload w) {
            this.workload = Objects.requireNonNull(w, "workload");
            return this;
        }

        /**
         * Sets the driver (default {@link Driver#PANFROST}).
         *
         * @param d the driver
         * @return this builder
         */
        public Builder driver(Driver d) {
            this.driver = Objects.requireNonNull(d, "driver");
            return this;
        }

        /**
         * Sets the RAM budget.
         *
         * @param bytes {@value SimulationConfig#MIN_RAM} to {@value SimulationConfig#MAX_RAM}; rounded down to
         *              whole pages
         * @return this builder
         * @throws IllegalArgumentException when out of range
         */
        public Builder ramBytes(long bytes) {
            if (bytes < MIN_RAM || bytes > MAX_RAM) {
                throw new IllegalArgumentException("RAM must be 4MiB..16GiB, not " + bytes + " bytes");
            }
            this.ramBytes = bytes - bytes % PagePool.PAGE_SIZE;
            return this;
        }

        /**
         * Sets the swap capacity.
         *
         * @param bytes 0 (no swap) or more; rounded down to whole pages
         * @return this builder
         * @throws IllegalArgumentException when negative or above {@code Integer.MAX_VALUE} pages
         */
        public Builder swapBytes(long bytes) {
            if (bytes < 0 || bytes / PagePool.PAGE_SIZE > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("swap must be 0.." + Integer.MAX_VALUE + " pages, not " + bytes
                        + " bytes");
            }
            this.swapBytes = bytes - bytes % PagePool.PAGE_SIZE;
            return this;
        }

        /**
         * Keeps swap in a new file (created by the run, deleted at its end) instead of in memory.
         *
         * @param path the file, or null for in-memory swap
         * @return this builder
         */
        public Builder swapFile(Path path) {
            this.swapFile = path;
            return this;
        }

        /**
         * Sets how long a threaded run lasts (and, unless {@link #operations(long)} is set, the operation budget of
         * a deterministic one).
         *
         * @param s above 0, at most {@value SimulationConfig#MAX_SECONDS}
         * @return this builder
         * @throws IllegalArgumentException when out of range
         */
        public Builder seconds(double s) {
            if (!(s > 0 && s <= MAX_SECONDS)) {
                throw new IllegalArgumentException("seconds must be above 0 and at most 86400, not " + s);
            }
            this.seconds = s;
            return this;
        }

        /**
         * Sets the operation budget of a deterministic run explicitly.
         *
         * @param n driver calls, at least 1
         * @return this builder
         * @throws IllegalArgumentException when below 1
         */
        public Builder operations(long n) {
            if (n < 1) {
                throw new IllegalArgumentException("operations must be at least 1, not " + n);
            }
            this.operations = n;
            return this;
        }

        /**
         * Sets the number of worker threads; 1 makes the run deterministic.
         *
         * @param n 1 to {@value SimulationConfig#MAX_THREADS}
         * @return this builder
         * @throws IllegalArgumentException when out of range
         */
        public Builder threads(int n) {
            if (n < 1 || n > MAX_THREADS) {
                throw new IllegalArgumentException("threads must be 1..64, not " + n);
            }
            this.threads = n;
            return this;
        }

        /**
         * Sets the random seed.
         *
         * @param s any value
         * @return this builder
         */
        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /**
         * Sets where the bytes of the RAM budget live (default {@link PageBacking.Kind#HEAP}; {@link
         * PageBacking.Kind#DIRECT} keeps them off the Java heap).
         *
         * @param kind the page backing's kind
         * @return this builder
         */
        public Builder backing(PageBacking.Kind kind) {
            this.backing = Objects.requireNonNull(kind, "backing");
            return this;
        }

        /**
         * Sets the reclaim policy the device is built with (default {@link ReclaimPolicy#lru()}).
         *
         * @param p the policy, for example one of {@link ReclaimPolicy#builtIns()}
         * @return this builder
         */
        public Builder policy(ReclaimPolicy p) {
            this.policy = Objects.requireNonNull(p, "policy");
            return this;
        }

        /**
         * Builds the configuration.
         *
         * @return it
         * @throws IllegalArgumentException when a swap file is given without swap capacity, or the workload cannot
         *                                  run on the driver ({@link Workload#refuses})
         */
        public SimulationConfig build() {
            if (swapFile != null && swapBytes == 0) {
                throw new IllegalArgumentException("a swap file needs a swap capacity above 0");
            }
            workload.refuses(driver).ifPresent(why -> {
                throw new IllegalArgumentException(why);
            });
            return new SimulationConfig(this);
        }
    }
}
