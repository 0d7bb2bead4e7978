package dev.gemshrink.sim;

import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.stats.GemsTable;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The driver a simulation runs on, as its workloads see it: clients, BOs at GPU addresses, jobs that read and
 * write GPU memory, heaps the GPU grows. {@link PanfrostSimDriver} passes every call to the Panfrost-like driver;
 * {@link PanthorSimDriver} maps them onto VMs, explicit binding and tiler heaps. A client and its BOs are used
 * by one worker thread only.
 */
abstract class SimDriver implements AutoCloseable {
    /** What a BO is for; each driver maps it onto its own flags. */
    enum Use {
        /** Executable (a shader). */
        CODE,
        /** Data the GPU must not execute. */
        DATA,
        /** Data whose contents may be dropped on reclaim (Panthor's discard-on-reclaim; a DATA BO on Panfrost). */
        SCRATCH,
        /** A heap the GPU grows chunk by chunk while a job runs (Panfrost: 2 MiB chunks; Panthor: size / 8). */
        HEAP
    }

    /** How a job ended. */
    enum Outcome {
        /** It ran to the end. */
        DONE,
        /** It faulted; see {@link Job#error()}. */
        FAULTED,
        /** A heap could not grow and the job rendered incrementally instead (Panthor). */
        INCREMENTAL_RENDERING
    }

    /** A client (a DRM file) of the driver. */
    interface Client {
        /**
         * Creates a BO ready for use (Panthor: bound in one of the client's VMs).
         *
         * @return the BO
         * @throws GemException ENOMEM when its pages do not fit (nothing is left behind)
         */
        Bo create(String name, long size, Use use);

        /** Closes the client's handle to a BO; a job in flight keeps it until it finishes. */
        void close(Bo bo);

        /** The madvise ioctl: retained or not (Panthor has none: nothing changes and the BO is retained). */
        boolean madvise(Bo bo, Madv advice);

        /** Submits a job using those BOs (not held: it runs as soon as the GPU gets to it). */
        Job submit(String name, List<Bo> bos, Work work);

        /**
         * The heap-fault path called directly (Panfrost); Panthor's heaps grow only inside jobs, so nothing happens.
         *
         * @return true when a chunk was populated
         */
        boolean fault(Bo heap, long offset);

        /** Closes the client: its jobs finish, its handles are closed, it holds nothing. */
        void close();
    }

    /** A BO as a workload sees it. */
    interface Bo {
        String name();

        long size();

        boolean isHeap();

        /** The GPU address of its first byte in its client (0 for a Panthor heap, which has no address). */
        long va();

        /** CPU read; an evicted BO is swapped in. */
        void read(long offset, byte[] dst);

        /** CPU write; an evicted BO is swapped in. */
        void write(long offset, byte[] src);

        /** How many times a reclaim dropped its contents (0 on Panfrost). */
        int discards();
    }

    /** A submitted job. */
    interface Job {
        String name();

        /** Waits for the job; true when it finished in time. */
        boolean await(long timeout, TimeUnit unit) throws InterruptedException;

        /** How it ended (after {@link #await}). */
        Outcome outcome();

        /** Why it did not end normally, if it did not. */
        Optional<GemException> error();
    }

    /** What a job does on the GPU. */
    @FunctionalInterface
    interface Work {
        void run(Gpu gpu);
    }

    /** A running job's view of GPU memory. */
    interface Gpu {
        void read(long va, byte[] dst);

        void write(long va, byte[] src);

        /**
         * Makes sure the heap covers byte {@code offset}. On Panfrost the heap is GPU memory at its address and an
         * access there grows it through a fault: nothing is done here and the answer is true (the caller may write
         * and read bytes there). On Panthor the tiler grows the heap chunk by chunk without reclaim (a chunk that
         * cannot be had ends the job with incremental rendering) and the answer is false: a tiler heap has no
         * address the job could read back.
         *
         * @return whether the heap's bytes are addressable at {@code heap.va()}
         */
        boolean growHeap(Bo heap, long offset);
    }

    /**
     * Builds the driver a configuration names, over the given swap store.
     *
     * @param config what the simulation runs
     * @param swap   the swap store
     * @return the driver, with its shrinker registered
     */
    static SimDriver build(SimulationConfig config, SwapStore swap) {
        return switch (config.driver()) {
            case PANFROST -> new PanfrostSimDriver(config, swap);
            case PANTHOR -> new PanthorSimDriver(config, swap);
        };
    }

    /** The core device underneath: pool, swap, shrinkers. */
    abstract GemDevice gem();

    /** Opens a client. */
    abstract Client openClient(String name);

    /** The core's invariants and the driver's. */
    abstract List<Violation> check();

    /** Live BOs (Panthor: tiler heaps not included). */
    abstract int liveBos();

    /** Heap chunks populated so far (by faults on Panfrost, by the tiler on Panthor). */
    abstract long heapGrowths();

    /** Pages of heap chunks populated so far. */
    abstract long heapPages();

    /** Pages whose contents a reclaim dropped, over the BOs freed so far (0 on Panfrost). */
    abstract long discardedPages();

    /** Whether every job submitted so far has finished and released what it held. */
    abstract boolean jobsFinished();

    /** Each open client's memory now, read lock-free (sampling never waits for a worker or the shrinker). */
    abstract List<ClientUsage> clientUsage();

    /** The device's gems table; empty for Panthor, which has none. */
    abstract GemsTable gems();

    /** Starts a kswapd-like reclaimer on the device's pool; closed with the driver. */
    abstract BackgroundReclaimer startBackgroundReclaimer(int low, int high);

    /** Stops the GPU thread and closes the device. */
    @Override
    public abstract void close();
}
