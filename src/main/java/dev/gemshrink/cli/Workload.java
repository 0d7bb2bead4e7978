package dev.gemshrink.cli;

import java.util.Random;

/** The workloads {@code simulate} can run. */
enum Workload {
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
    };

    /** Operations per second of the deterministic mode's budget: roughly what one thread does per second. */
    final int opsPerSecond;

    Workload(int opsPerSecond) {
        this.opsPerSecond = opsPerSecond;
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

    static Workload of(String name) {
        return valueOf(name.toUpperCase(java.util.Locale.ROOT));
    }
}
