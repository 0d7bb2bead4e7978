package dev.gemshrink.sim;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the workers of one simulation share: the device, the counters of the summary, the stop condition, and the
 * record of failures. Thread-safe.
 */
final class SimContext {
    private static final int MAX_MESSAGES = 20;

    final SimDriver dev;
    final CountingSwapStore swap;
    final ShrinkerRegistry.Registration shrinker;
    final SimulationConfig config;
    final AtomicLong ops = new AtomicLong();
    final LongAdder jobs = new LongAdder();
    final LongAdder jobsFaulted = new LongAdder();
    final LongAdder explicitFaults = new LongAdder();
    final LongAdder pagesAllocated = new LongAdder();
    final LongAdder enomem = new LongAdder();
    final LongAdder integrityFailures = new LongAdder();
    final LongAdder violations = new LongAdder();
    final LongAdder cachePurged = new LongAdder();
    final LongAdder incrementalRendering = new LongAdder();
    final LongAdder tabsOpened = new LongAdder();
    final LongAdder reuploads = new LongAdder();
    private final List<String> messages = new ArrayList<>(); // guarded by this
    private final long opBudget;
    private final AtomicBoolean interrupted;
    private volatile boolean stop;

    SimContext(SimDriver dev, CountingSwapStore swap, ShrinkerRegistry.Registration shrinker,
            SimulationConfig config, long opBudget, AtomicBoolean interrupted) {
        this.dev = dev;
        this.swap = swap;
        this.shrinker = shrinker;
        this.config = config;
        this.opBudget = opBudget;
        this.interrupted = interrupted;
    }

    /**
     * Returns whether workers should stop issuing new work.
     *
     * @return true once the op budget (deterministic mode) is spent or a stop was requested (the end of the run
     *         or a shutdown)
     */
    boolean done() {
        return stop || interrupted.get() || (opBudget > 0 && ops.get() >= opBudget);
    }

    void requestStop() {
        stop = true;
    }

    long opBudget() {
        return opBudget;
    }

    /** Counts one driver call. */
    void op() {
        ops.incrementAndGet();
    }

    /**
     * Records a GemException from a driver call: ENOMEM is counted as such (memory pressure is expected), any other
     * errno is a violation of what the workload knows to be valid.
     *
     * @param what the call
     * @param e    its failure
     */
    void failed(String what, GemException e) {
        if (e.errno() == Errno.ENOMEM) {
            enomem.increment();
        } else {
            violation(what + ": unexpected " + e.errno() + ": " + e.getMessage());
        }
    }

    void integrityFailure(String message) {
        integrityFailures.increment();
        remember("integrity: " + message);
    }

    void violation(String message) {
        violations.increment();
        remember("violation: " + message);
    }

    private synchronized void remember(String m) {
        if (messages.size() < MAX_MESSAGES) {
            messages.add(m);
        }
    }

    synchronized List<String> messages() {
        return List.copyOf(messages);
    }

    /**
     * Waits for a job to finish. In deterministic mode it also waits until the device counts every submitted job
     * as finished (so the GPU thread is done with the job's BO references whatever the order in which it releases
     * them and signals the fence), and the next step sees the same memory state on every run. A faulted job counts
     * as ENOMEM when a heap chunk could not be allocated, else as an integrity failure (the GPU could not reach
     * memory it was given); a job that rendered incrementally (a tiler heap could not grow) is counted as such.
     *
     * @param job the job
     * @return true when it ran to the end
     */
    boolean await(SimDriver.Job job) {
        try {
            if (!job.await(60, TimeUnit.SECONDS)) {
                violation("job " + job.name() + " did not finish within 60 s");
                return false;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        if (config.deterministic()) {
            awaitAllFinished();
        }
        if (job.outcome() == SimDriver.Outcome.INCREMENTAL_RENDERING) {
            incrementalRendering.increment();
            return false;
        }
        if (job.outcome() == SimDriver.Outcome.FAULTED) {
            jobsFaulted.increment();
            GemException e = job.error().orElse(null);
            if (causedByEnomem(e)) {
                enomem.increment();
            } else {
                integrityFailure("job " + job.name() + " faulted: " + (e == null ? "?" : e.getMessage()));
            }
            return false;
        }
        return true;
    }

    /** Waits until every submitted job has finished and released its BOs. */
    void awaitAllFinished() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            if (dev.jobsFinished()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                violation("jobs did not finish within 60 s");
                return;
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    private static boolean causedByEnomem(Throwable t) {
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            if (t instanceof GemException && ((GemException) t).errno() == Errno.ENOMEM) {
                return true;
            }
        }
        return false;
    }
}
