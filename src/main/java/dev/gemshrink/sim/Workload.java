package dev.gemshrink.sim;

import java.util.Locale;
import java.util.Optional;
import java.util.Random;

/** The workloads a {@link Simulation} can run. */
public enum Workload {
    /** Many short-lived BOs per frame, GPU jobs reading and writing real bytes, heap growth by faults. */
    GLMARK2(5000) {
        @Override
        SimWorker worker(SimContext ctx, Random rnd, int index) {
            return new Glmark2Worker(ctx, rnd, index);
        }
    },
    /** Tabs with Mesa-like BO caches flipping DONTNEED/WILLNEED, tabs going idle and coming back. */
    BROWSER(3000) {
        @Override
        SimWorker worker(SimContext ctx, Random rnd, int index) {
            return new BrowserWorker(ctx, rnd, index);
        }
    },
    /** A WILLNEED working set larger than RAM, evicted to swap and verified byte for byte. */
    COMPUTE(300) {
        @Override
        SimWorker worker(SimContext ctx, Random rnd, int index) {
            return new ComputeWorker(ctx, rnd, index);
        }
    },
    /**
     * A browser opening more and more tabs, each a client with its own VM, textures (some discard-on-reclaim) and a
     * tiler heap, and going back to old tabs now and then. Runs on {@link Driver#PANTHOR} only.
     */
    TABS(2000) {
        @Override
        SimWorker worker(SimContext ctx, Random rnd, int index) {
            return new TabsWorker(ctx, rnd, index);
        }
    };

    private final int operationsPerSecond;

    Workload(int operationsPerSecond) {
        this.operationsPerSecond = operationsPerSecond;
    }

    /**
     * Returns the rate that turns seconds into the operation budget of a deterministic run: roughly what one thread
     * does per second.
     *
     * @return driver calls per second
     */
    public int operationsPerSecond() {
        return operationsPerSecond;
    }

    /**
     * Returns the workload's name as the command line spells it.
     *
     * @return {@code glmark2}, {@code browser}, {@code compute} or {@code tabs}
     */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Returns why the workload cannot run on a driver.
     *
     * @param driver the driver
     * @return the reason, or empty when it can
     */
    public Optional<String> refuses(Driver driver) {
        if (this == TABS && driver != Driver.PANTHOR) {
            return Optional.of("the tabs workload needs the panthor driver (it binds BOs in a VM per tab,"
                    + " with discard-on-reclaim textures and a tiler heap)");
        }
        return Optional.empty();
    }

    /**
     * Creates one worker.
     *
     * @param ctx   the shared context
     * @param rnd   the worker's own random source
     * @param index the worker's number
     * @return the worker
     */
    abstract SimWorker worker(SimContext ctx, Random rnd, int index);
}
