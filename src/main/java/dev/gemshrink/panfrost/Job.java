package dev.gemshrink.panfrost;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A submitted GPU job. It holds a reference on the mapping of each of its BOs in its client (so they stay alive
 * and mapped) until it finishes; its {@link Fence} keeps them busy. The GPU thread runs its work; a held job
 * ({@code hold = true} at submit) finishes only when {@link #complete()} is called as well.
 */
public final class Job {
    /** Where a job is. */
    public enum Status {
        /** Waiting for the GPU. */
        QUEUED,
        /** Running on the GPU. */
        RUNNING,
        /** Its work ran to the end. */
        DONE,
        /**
         * Its work faulted outside every mapping, a heap fault failed, or the work threw (anything, an Error
         * included); the next job still runs.
         */
        FAULTED
    }

    private final String name;
    private final PanfrostClient client;
    private final List<GpuMapping> mappings;
    private final GpuWork work;
    private final Fence fence;
    private final AtomicInteger pending; // work still to run, plus 1 while held
    private final AtomicBoolean released = new AtomicBoolean();
    private final boolean held;
    private volatile Status status = Status.QUEUED;
    private volatile GemException error;

    Job(String name, PanfrostClient client, List<GpuMapping> mappings, GpuWork work, boolean hold) {
        this.name = name;
        this.client = client;
        this.mappings = List.copyOf(mappings);
        this.work = work;
        this.fence = new Fence(name);
        this.held = hold;
        this.pending = new AtomicInteger(hold ? 2 : 1);
    }

    /**
     * Returns the job's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the client that submitted it.
     *
     * @return the client
     */
    public PanfrostClient client() {
        return client;
    }

    /**
     * Returns the fence.
     *
     * @return the job's completion fence
     */
    public Fence fence() {
        return fence;
    }

    /**
     * Returns the job's status.
     *
     * @return the status
     */
    public Status status() {
        return status;
    }

    /**
     * Returns why the job faulted: the {@link GemException} its work raised, or a {@link GpuFaultException} whose
     * cause is what else the work threw (an Error included).
     *
     * @return the fault, if any
     */
    public Optional<GemException> error() {
        return Optional.ofNullable(error);
    }

    /** Returns the mappings the job holds one reference of each until it finishes, for the checker. */
    List<GpuMapping> mappings() {
        return mappings;
    }

    /**
     * Finishes a held job: once its work has run, its BO references are dropped and its fence signals. Returns
     * when the fence has signalled (so the references are gone by then).
     *
     * @throws GemException EINVAL when the job was not held or is already completed; EBUSY when its work did not
     *                      finish within 30 seconds
     */
    public void complete() {
        if (!held || !released.compareAndSet(false, true)) {
            throw new GemException(Errno.EINVAL, "job " + name + (held ? " is already completed" : " is not held"));
        }
        step();
        try {
            if (!fence.await(30, TimeUnit.SECONDS)) {
                throw new GemException(Errno.EBUSY, "job " + name + " did not finish on the GPU");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GemException(Errno.EBUSY, "interrupted while completing job " + name, e);
        }
    }

    /**
     * Waits for the job to finish: once it returns true, the job holds no BO reference any more and is counted in
     * the device's {@link PanfrostDevice#stats()}.
     *
     * @param timeout how long at most
     * @param unit    its unit
     * @return true when finished in time
     * @throws InterruptedException when interrupted
     */
    public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return fence.await(timeout, unit);
    }

    /**
     * Runs the work on the GPU thread. Whatever the work throws fails this job alone: a {@link GemException} is its
     * error as it is; any other throwable, an {@link Error} included (AssertionError, StackOverflowError, even
     * OutOfMemoryError), becomes a {@link GpuFaultException} (EFAULT) with the throwable as its cause, like a GPU
     * fault. Either way the job is FAULTED, and once it is also completed (when held) its references are dropped
     * and its fence signals. A throwable is never rethrown here: the GPU thread goes on serving the next job.
     */
    void run(PanfrostDevice dev) {
        status = Status.RUNNING;
        try {
            work.run(new GpuContext(dev, client.addressSpace(), name));
            status = Status.DONE;
        } catch (Throwable t) {
            status = Status.FAULTED; // first: whatever fails below, the job no longer looks as if it runs
            error = t instanceof GemException g ? g : new GpuFaultException("job " + name + " failed: " + t, t);
        } finally {
            step();
        }
    }

    /**
     * Counts down the work and the hold; the last one drops the BO references, counts the job and signals the
     * fence, each even when an earlier one fails (the first failure is rethrown afterwards).
     */
    private void step() {
        if (pending.decrementAndGet() != 0) {
            return;
        }
        // Drop the BO references and count the job before signalling, so that whoever waits for the fence
        // (await, complete) sees them dropped: a BO whose handle was closed is freed by then.
        Throwable failed = null;
        try {
            failed = Cleanup.putAll(mappings);
        } finally {
            try {
                client.device().jobFinished(this);
            } finally {
                fence.signal();
            }
        }
        if (failed != null) {
            throw Cleanup.rethrow(failed);
        }
    }

    /**
     * Gives up a job that was never queued (its submit failed after attaching the fence): the fence signals so
     * that no BO stays busy for it. Its references are the failed submit's to drop.
     */
    void abandon() {
        status = Status.FAULTED;
        fence.signal();
    }

    @Override
    public String toString() {
        return "Job[" + name + ", " + status + "]";
    }
}
