package dev.gemshrink.sim;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.memory.FileSwapStore;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import dev.gemshrink.reclaim.ShrinkerStats;
import dev.gemshrink.stats.GemsTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One simulation: builds the configured driver's device ({@link Driver}) under the configured RAM budget, runs the workload's workers
 * against it, samples memory, checks invariants, closes everything, and returns a {@link SimulationResult} (the
 * summary, the timeline and the failures found). Usable from Java and JUnit:
 *
 * <pre>{@code
 * SimulationResult r = new Simulation(SimulationConfig.builder().workload(Workload.BROWSER).threads(1)
 *         .operations(2_000).ramBytes(8 << 20).build()).run();
 * assertTrue(r.ok());
 * HtmlReport.write(Path.of("report.html"), ReportHeader.of("my test"), List.of(r));
 * }</pre>
 *
 * <p>Two modes. With several threads, each worker is a real thread, the background reclaimer runs, direct reclaim
 * happens on whichever thread allocates, and the run lasts {@link SimulationConfig#seconds()} of wall time. With one
 * thread the run is deterministic: one thread drives everything, waits for each job (and for the GPU thread to drop
 * the job's references), no background reclaimer runs, memory is sampled every so many operations, and the run is
 * bounded by {@link SimulationConfig#operations()}; so for a given seed the summary is identical from run to run.
 * Wall-clock figures (elapsed time, scan latencies) go to a separate timings block in both modes.
 */
public final class Simulation {
    private static final long SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final int SAMPLES_DETERMINISTIC = 200;
    private static final int CHECKS_DETERMINISTIC = 10;

    private final SimulationConfig config;
    private final Consumer<SimulationStatus> listener;
    /** Set by {@link #stop()}; the workers and the sampling loop stop when they see it. */
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private final AtomicBoolean started = new AtomicBoolean();

    /**
     * Creates a simulation that reports no progress.
     *
     * @param config what to run
     */
    public Simulation(SimulationConfig config) {
        this(config, status -> { });
    }

    /**
     * Creates a simulation.
     *
     * @param config   what to run
     * @param listener called with the state of the run at every memory sample (every 50 ms with threads, every
     *                 half percent of the operation budget in the deterministic mode), on the thread that called
     *                 {@link #run()}
     */
    public Simulation(SimulationConfig config, Consumer<SimulationStatus> listener) {
        this.config = Objects.requireNonNull(config, "config");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Asks a running simulation to stop early; {@link #run()} then returns the result of what ran, with
     * {@link SimulationResult#stoppedEarly()} true. Callable from any thread (a shutdown hook, for example), before
     * or during the run.
     */
    public void stop() {
        stopRequested.set(true);
    }

    /**
     * Runs the simulation, once.
     *
     * @return the result: summary, timeline, failures
     * @throws IOException           when the swap file cannot be created (for example it already exists:
     *                               {@link java.nio.file.FileAlreadyExistsException}); it is never overwritten
     * @throws IllegalStateException when this simulation has already run
     */
    public SimulationResult run() throws IOException {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("a simulation runs once");
        }
        if (config.swapPages() == 0) {
            return runWith(SwapStore.none());
        }
        Path file = config.swapFile().orElse(null);
        if (file == null) {
            return runWith(SwapStore.inMemory(config.swapPages()));
        }
        SwapStore store = FileSwapStore.open(file, config.swapPages());
        try {
            return runWith(store);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private SimulationResult runWith(SwapStore base) {
        Workload workload = config.workload();
        CountingSwapStore swap = new CountingSwapStore(base);
        SimDriver dev = SimDriver.build(config, swap);
        boolean det = config.deterministic();
        long budget = det ? config.operations() : 0;
        Timeline timeline = new Timeline(det ? "operations" : "seconds", config.ramPages());
        BackgroundReclaimer reclaimer = null;
        if (!det) {
            int low = Math.max(1, config.ramPages() / 32);
            reclaimer = dev.startBackgroundReclaimer(low, Math.max(low, config.ramPages() / 16));
        }
        TimedShrinker.Installed timed = TimedShrinker.install(dev.gem().shrinkers(), dev.gem().shrinker());
        ShrinkerRegistry.Registration shrinkerReg = timed.registration();
        SimContext ctx = new SimContext(dev, swap, shrinkerReg, config, budget, stopRequested);
        long t0 = System.nanoTime();
        List<SimWorker> workers = new ArrayList<>();
        try {
            if (det) {
                runDeterministic(workload, ctx, timeline, workers, t0);
            } else {
                runThreaded(workload, ctx, timeline, workers, t0);
            }
        } catch (Throwable t) {
            ctx.violation("simulation failed: " + t);
        }
        long elapsed = System.nanoTime() - t0;
        long bgWakeups = 0;
        long bgReclaimed = 0;
        if (reclaimer != null) {
            reclaimer.close();
            bgWakeups = reclaimer.wakeups();
            bgReclaimed = reclaimer.reclaimed();
        }
        ctx.awaitAllFinished();
        timeline.sample(det ? ctx.ops.get() : elapsed / 1e9, ctx);
        // Everything is quiet now: the checker's device-wide sums are exact.
        for (Violation v : dev.check()) {
            ctx.violation("at the end of the run: " + v);
        }
        ShrinkerStats shrinker = shrinkerReg.stats();
        long live = dev.liveBos();
        GemsTable gems = dev.gems();
        cleanUp(ctx, workers);
        long[] scans = timed.timer().sorted();
        try {
            shrinkerReg.close();
            dev.close();
        } catch (RuntimeException e) {
            ctx.violation("closing the device: " + e);
        }

        Summary s = summarize(workload, ctx, shrinker, budget, live);
        s.timing("elapsed", String.format(Locale.ROOT, "%.2f s", elapsed / 1e9));
        s.timing("ops per second", String.format(Locale.ROOT, "%.0f", ctx.ops.get() / Math.max(1e-9, elapsed / 1e9)));
        s.timing("reclaim scan p50", millis(TimedShrinker.percentile(scans, 50)));
        s.timing("reclaim scan p99", millis(TimedShrinker.percentile(scans, 99)));
        s.timing("reclaim scan max", millis(scans.length == 0 ? 0 : scans[scans.length - 1]));
        if (!det) {
            s.timing("background reclaimer wakeups", Long.toString(bgWakeups));
            s.timing("background reclaimer pages", Long.toString(bgReclaimed));
        }
        s.failure(ctx.messages());
        return new SimulationResult(config, s, timeline, ctx.integrityFailures.sum(), ctx.violations.sum(),
                stopRequested.get(), elapsed, scans, gems);
    }

    private void runDeterministic(Workload workload, SimContext ctx, Timeline timeline, List<SimWorker> workers,
            long t0) {
        SimWorker w = workload.worker(ctx, new Random(config.seed()), 0);
        workers.add(w);
        long budget = ctx.opBudget();
        long sampleEvery = Math.max(1, budget / SAMPLES_DETERMINISTIC);
        long checkEvery = Math.max(1, budget / CHECKS_DETERMINISTIC);
        long nextSample = 0;
        long nextCheck = checkEvery;
        while (!ctx.done()) {
            long ops = ctx.ops.get();
            if (ops >= nextSample) {
                timeline.sample(ops, ctx);
                listener.accept(status(ctx, t0));
                nextSample = ops + sampleEvery;
            }
            w.step();
            ops = ctx.ops.get();
            if (ops >= nextCheck) {
                // Single-threaded and no job in flight: an exact check.
                for (Violation v : ctx.dev.check()) {
                    ctx.violation("after " + ops + " operations: " + v);
                }
                nextCheck = ops + checkEvery;
            }
        }
        w.quiesce();
    }

    private void runThreaded(Workload workload, SimContext ctx, Timeline timeline, List<SimWorker> workers, long t0)
            throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < config.threads(); i++) {
            SimWorker w = workload.worker(ctx, new Random(config.seed() + 0x9E3779B97F4A7C15L * i), i);
            workers.add(w);
            Thread t = new Thread(() -> {
                try {
                    while (!ctx.done()) {
                        w.step();
                    }
                } catch (Throwable e) {
                    ctx.violation(w.id + " crashed: " + e);
                } finally {
                    try {
                        w.quiesce();
                    } catch (Throwable e) {
                        ctx.violation(w.id + " crashed while finishing: " + e);
                    }
                }
            }, "sim-" + w.id);
            t.setDaemon(true);
            threads.add(t);
        }
        long deadline = t0 + (long) (config.seconds() * 1e9);
        timeline.sample(0, ctx);
        for (Thread t : threads) {
            t.start();
        }
        while (true) {
            long now = System.nanoTime();
            if (now >= deadline || ctx.done()) {
                break;
            }
            TimeUnit.NANOSECONDS.sleep(Math.min(SAMPLE_NANOS, deadline - now));
            timeline.sample((System.nanoTime() - t0) / 1e9, ctx);
            listener.accept(status(ctx, t0));
        }
        ctx.requestStop();
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            if (t.isAlive()) {
                ctx.violation(t.getName() + " did not stop within 60 s");
            }
        }
    }

    /** Closes every client, then requires that nothing is left: no violation, no page in RAM or swap, no object. */
    private static void cleanUp(SimContext ctx, List<SimWorker> workers) {
        for (SimWorker w : workers) {
            try {
                w.closeAll();
            } catch (Throwable e) {
                ctx.violation("closing " + w.id + ": " + e);
            }
        }
        ctx.awaitAllFinished();
        SimDriver dev = ctx.dev;
        for (Violation v : dev.check()) {
            ctx.violation("after closing everything: " + v);
        }
        if (dev.gem().pool().usedPages() != 0 || dev.gem().swap().usedPages() != 0) {
            ctx.violation("after closing everything: ram_used=" + dev.gem().pool().usedPages() + " swap_used="
                    + dev.gem().swap().usedPages());
        }
        if (!dev.gem().objects().isEmpty()) {
            ctx.violation("after closing everything: objects left: " + dev.gem().objects());
        }
    }

    private Summary summarize(Workload workload, SimContext ctx, ShrinkerStats sh, long budget, long liveAtEnd) {
        String title = "workload=" + workload.id() + " policy=" + config.policy().name() + " threads="
                + config.threads() + " seed=" + config.seed() + " ram=" + config.ramPages() + " pages swap="
                + config.swapPages() + " pages "
                + (budget > 0 ? "budget=" + budget + " ops" : "duration=" + trim(config.seconds()) + "s")
                + " driver=" + config.driver().id();
        boolean panthor = config.driver() == Driver.PANTHOR;
        Summary s = new Summary(title);
        s.row("ops", ctx.ops.get());
        s.row("jobs", ctx.jobs.sum());
        s.row("jobs faulted", ctx.jobsFaulted.sum());
        if (panthor) {
            s.row("jobs rendered incrementally", ctx.incrementalRendering.sum());
        }
        s.row("faults (heap growth)", ctx.dev.heapGrowths() + ctx.explicitFaults.sum());
        s.row("pages allocated", ctx.pagesAllocated.sum() + ctx.dev.heapPages());
        if (workload == Workload.TABS) {
            s.row("tabs opened", ctx.tabsOpened.sum());
            s.row("textures uploaded again after a discard", ctx.reuploads.sum());
        }
        s.row("pages purged", sh.purged());
        s.row("pages evicted", ctx.swap.storedPages());
        if (panthor) {
            s.row("pages discarded", ctx.dev.discardedPages());
        }
        s.row(Summary.REFAULTS, ctx.swap.loadedPages());
        s.row("reclaim scans", sh.scans());
        s.row("pages reclaimed by scans", sh.freed());
        if (workload == Workload.BROWSER) {
            s.row("cached BOs found purged", ctx.cachePurged.sum());
        }
        s.row("BOs live at the end", liveAtEnd);
        s.row("ENOMEM", ctx.enomem.sum());
        s.row("integrity failures", ctx.integrityFailures.sum());
        s.row("invariant violations", ctx.violations.sum());
        return s;
    }

    private SimulationStatus status(SimContext ctx, long t0) {
        SimDriver dev = ctx.dev;
        return new SimulationStatus((System.nanoTime() - t0) / 1e9, config.deterministic() ? 0 : config.seconds(),
                ctx.ops.get(), ctx.opBudget(), ctx.jobs.sum(), dev.gem().pool().usedPages(),
                dev.gem().swap().usedPages(), dev.gem().pool().freePages(), ctx.shrinker.stats().scans(),
                ctx.enomem.sum());
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
