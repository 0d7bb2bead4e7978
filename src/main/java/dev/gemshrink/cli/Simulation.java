package dev.gemshrink.cli;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.memory.FileSwapStore;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.panfrost.PanfrostDevice;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import dev.gemshrink.reclaim.ShrinkerStats;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs {@code simulate}: builds a device under the RAM budget, runs the workload's workers, samples memory,
 * checks invariants, cleans up, and prints the summary (and writes the report).
 *
 * <p>Two modes. With several threads, each worker is a real thread, the background reclaimer runs, direct reclaim
 * happens on whichever thread allocates, and the run lasts {@code --seconds} of wall time. With {@code --threads 1}
 * the run is deterministic: one thread drives everything, waits for each job (and for the GPU thread to drop the
 * job's references), no background reclaimer runs, memory is sampled every so many operations, and the run is
 * bounded by an operation budget derived from {@code --seconds}; so for a given seed the summary is identical from
 * run to run. Wall-clock figures (elapsed time, scan latencies) go to a separate timings block in both modes.
 */
final class Simulation {
    private static final long SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final int SAMPLES_DETERMINISTIC = 200;
    private static final int CHECKS_DETERMINISTIC = 10;

    private static final int SHUTDOWN_WAIT_SECONDS = 30;

    private final SimulateOptions o;
    private final PrintStream out;
    private final PrintStream err;
    /** Set by the shutdown hook; the workers and the sampling loop stop when they see it. */
    private final AtomicBoolean interrupted = new AtomicBoolean();
    /** Counted down once the run has printed everything and removed its swap file. */
    private final CountDownLatch finished = new CountDownLatch(1);

    Simulation(SimulateOptions options, PrintStream out, PrintStream err) {
        this.o = options;
        this.out = out;
        this.err = err;
    }

    /**
     * Runs the simulation. A shutdown (Ctrl-C, SIGTERM) while it runs stops the workers; the summary and the report
     * of what ran are still written and the swap file is removed before the JVM exits.
     *
     * @return 0 when no integrity failure and no invariant violation was found, 1 when some was, 3 when the
     *         report could not be written
     * @throws UsageException when the swap file cannot be created
     */
    int run() throws UsageException {
        Thread hook = new Thread(this::stopAndWait, "gemshrink-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return runWithSwap();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it waits for the latch below
            }
            out.flush();
            finished.countDown();
        }
    }

    /** The shutdown hook: asks the workers to stop, then waits (bounded) until the run has reported. */
    private void stopAndWait() {
        interrupted.set(true);
        try {
            finished.await(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (o.swapFile != null && finished.getCount() > 0) {
            deleteCreated(o.swapFile);
        }
    }

    private int runWithSwap() throws UsageException {
        Workload workload = Workload.of(o.workload);
        SwapStore base;
        if (o.swapPages() == 0) {
            base = SwapStore.none();
        } else if (o.swapFile != null) {
            try {
                base = FileSwapStore.open(o.swapFile, o.swapPages());
            } catch (FileAlreadyExistsException e) {
                throw new UsageException("--swap-file " + o.swapFile
                        + " already exists; refusing to overwrite it");
            } catch (IOException | RuntimeException e) {
                throw new UsageException("cannot create swap file " + o.swapFile + ": " + e.getMessage());
            }
            try {
                return runWith(workload, base);
            } finally {
                deleteCreated(o.swapFile);
            }
        } else {
            base = SwapStore.inMemory(o.swapPages());
        }
        return runWith(workload, base);
    }

    /** Deletes the swap file this run created, if the store's close has not already. */
    static void deleteCreated(Path created) {
        try {
            Files.deleteIfExists(created);
        } catch (IOException e) {
            System.err.println("gemshrink: could not delete swap file " + created + ": " + e.getMessage());
        }
    }

    private int runWith(Workload workload, SwapStore base) throws UsageException {
        CountingSwapStore swap = new CountingSwapStore(base);
        PanfrostDevice dev = PanfrostDevice.builder().name("simulate").ramPages(o.ramPages()).swap(swap).build();
        boolean det = o.deterministic();
        long budget = det ? Math.max(1, Math.round(o.seconds * workload.opsPerSecond)) : 0;
        Timeline timeline = new Timeline(det ? "operations" : "seconds", o.ramPages());
        Progress progress = new Progress(out, System.console() != null && out == System.out);
        BackgroundReclaimer reclaimer = null;
        if (!det) {
            int low = Math.max(1, o.ramPages() / 32);
            reclaimer = dev.startBackgroundReclaimer(low, Math.max(low, o.ramPages() / 16));
        }
        TimedShrinker.Installed timed = TimedShrinker.install(dev.gem().shrinkers(), dev.gem().shrinker());
        ShrinkerRegistry.Registration shrinkerReg = timed.registration();
        SimContext ctx = new SimContext(dev, swap, shrinkerReg, o, budget, interrupted);
        out.println("simulate: " + o + (det ? " (deterministic: " + budget + " operations)" : ""));
        long t0 = System.nanoTime();
        List<SimWorker> workers = new ArrayList<>();
        try {
            if (det) {
                runDeterministic(workload, ctx, timeline, progress, workers);
            } else {
                runThreaded(workload, ctx, timeline, progress, workers, t0);
            }
        } catch (Throwable t) {
            ctx.violation("simulation failed: " + t);
        }
        long elapsed = System.nanoTime() - t0;
        progress.end();
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
        PanfrostDevice.Stats ds = dev.stats();
        long live = dev.bos().size();
        cleanUp(ctx, workers);
        long[] scans = timed.timer().sorted();
        try {
            shrinkerReg.close();
            dev.close();
        } catch (RuntimeException e) {
            ctx.violation("closing the device: " + e);
        }

        Summary s = summarize(workload, ctx, shrinker, ds, budget, live);
        s.timing("elapsed", String.format(Locale.ROOT, "%.2f s", elapsed / 1e9));
        s.timing("ops per second", String.format(Locale.ROOT, "%.0f", ctx.ops.get() / Math.max(1e-9, elapsed / 1e9)));
        s.timing("reclaim scan p50", millis(TimedShrinker.percentile(scans, 50)));
        s.timing("reclaim scan p99", millis(TimedShrinker.percentile(scans, 99)));
        s.timing("reclaim scan max", millis(scans.length == 0 ? 0 : scans[scans.length - 1]));
        if (!det) {
            s.timing("background reclaimer wakeups", Long.toString(bgWakeups));
            s.timing("background reclaimer pages", Long.toString(bgReclaimed));
        }
        s.failures.addAll(ctx.messages());
        if (interrupted.get()) {
            out.println("simulate: stopped by a signal; the summary covers what ran");
        }
        s.print(out);
        for (String m : ctx.messages()) {
            err.println(m);
        }
        long bad = ctx.integrityFailures.sum() + ctx.violations.sum();
        out.println("simulate: " + (bad == 0 ? "ok" : "FAILED (" + ctx.integrityFailures.sum()
                + " integrity failures, " + ctx.violations.sum() + " invariant violations)"));
        if (o.report != null) {
            try {
                HtmlReport.write(o.report, "gemshrink simulate: " + o.workload, timeline, s);
                out.println("report: " + o.report);
            } catch (IOException | RuntimeException e) {
                err.println("gemshrink: simulate: cannot write report " + o.report + ": " + e.getMessage());
                return Main.FAILURE;
            }
        }
        return bad == 0 ? 0 : 1;
    }

    private void runDeterministic(Workload workload, SimContext ctx, Timeline timeline, Progress progress,
            List<SimWorker> workers) {
        SimWorker w = workload.worker(ctx, new Random(o.seed), 0);
        workers.add(w);
        long budget = ctx.opBudget();
        long sampleEvery = Math.max(1, budget / SAMPLES_DETERMINISTIC);
        long checkEvery = Math.max(1, budget / CHECKS_DETERMINISTIC);
        long progressEvery = Math.max(1, budget / 4);
        long nextSample = 0;
        long nextCheck = checkEvery;
        long nextProgress = progressEvery;
        while (!ctx.done()) {
            long ops = ctx.ops.get();
            if (ops >= nextSample) {
                timeline.sample(ops, ctx);
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
            if (ops >= nextProgress && ops < budget) {
                progress.show(status(ctx, String.format(Locale.ROOT, "%d%% of %d operations",
                        ops * 100 / budget, budget)));
                nextProgress = ops + progressEvery;
            }
        }
        w.quiesce();
    }

    private void runThreaded(Workload workload, SimContext ctx, Timeline timeline, Progress progress,
            List<SimWorker> workers, long t0) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < o.threads; i++) {
            SimWorker w = workload.worker(ctx, new Random(o.seed + 0x9E3779B97F4A7C15L * i), i);
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
        long deadline = t0 + (long) (o.seconds * 1e9);
        timeline.sample(0, ctx);
        for (Thread t : threads) {
            t.start();
        }
        long nextProgress = t0 + (progress.live() ? TimeUnit.MILLISECONDS.toNanos(200) : TimeUnit.SECONDS.toNanos(1));
        while (true) {
            long now = System.nanoTime();
            if (now >= deadline || ctx.done()) {
                break;
            }
            TimeUnit.NANOSECONDS.sleep(Math.min(SAMPLE_NANOS, deadline - now));
            now = System.nanoTime();
            timeline.sample((now - t0) / 1e9, ctx);
            if (now >= nextProgress) {
                progress.show(status(ctx, String.format(Locale.ROOT, "%.1f s of %s s", (now - t0) / 1e9,
                        trim(o.seconds))));
                nextProgress = now + (progress.live() ? TimeUnit.MILLISECONDS.toNanos(200)
                        : TimeUnit.SECONDS.toNanos(1));
            }
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
        PanfrostDevice dev = ctx.dev;
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

    private Summary summarize(Workload workload, SimContext ctx, ShrinkerStats sh, PanfrostDevice.Stats ds,
            long budget, long liveAtEnd) {
        String title = "workload=" + o.workload + " threads=" + o.threads + " seed=" + o.seed + " ram="
                + o.ramPages() + " pages swap=" + o.swapPages() + " pages "
                + (budget > 0 ? "budget=" + budget + " ops" : "duration=" + trim(o.seconds) + "s");
        Summary s = new Summary(title);
        s.row("ops", ctx.ops.get());
        s.row("jobs", ctx.jobs.sum());
        s.row("jobs faulted", ctx.jobsFaulted.sum());
        s.row("faults (heap growth)", ds.gpuFaults() + ctx.explicitFaults.sum());
        s.row("pages allocated", ctx.pagesAllocated.sum() + ds.heapChunks() * 512);
        s.row("pages purged", sh.purged());
        s.row("pages evicted", ctx.swap.storedPages());
        s.row("pages swapped in", ctx.swap.loadedPages());
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

    private static String status(SimContext ctx, String when) {
        PanfrostDevice dev = ctx.dev;
        return String.format(Locale.ROOT, "[%s] %d ops, %d jobs, resident %s, swapped %s, free %s, %d scans, "
                + "%d ENOMEM", when, ctx.ops.get(), ctx.jobs.sum(), mib(dev.gem().pool().usedPages()),
                mib(dev.gem().swap().usedPages()), mib(dev.gem().pool().freePages()), ctx.shrinker.stats().scans(),
                ctx.enomem.sum());
    }

    /** Pages as MiB with one decimal (for the status line). */
    private static String mib(long pages) {
        return String.format(Locale.ROOT, "%.1f MiB", pages * 4096.0 / (1 << 20));
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
