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
        /** Its work faulted outside every mapping (or a heap fault failed); the next job still runs. */
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
     * Returns why the job faulted.
     *
     * @return the fault, if any
     */
    public Optional<GemException> error() {
        return Optional.ofNullable(error);
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

    /** Runs the work; called on the GPU thread. */
    void run(GpuContext ctx) {
        status = Status.RUNNING;
        try {
            work.run(ctx);
            status = Status.DONE;
        } catch (GemException e) {
            error = e;
            status = Status.FAULTED;
        } catch (Throwable t) {
            // Whatever the work throws (an Error included: AssertionError, StackOverflowError, OutOfMemoryError), the
            // job faults alone: its fence signals, its references drop, and the GPU thread serves the next job. The
            // throwable is the job's error, for its submitter to see.
            error = new GpuFaultException("job " + name + " failed: " + t, t);
            status = Status.FAULTED;
        }
        step();
    }

    private void step() {
        if (pending.decrementAndGet() == 0) {
            // Drop the BO references and count the job before signalling, so that whoever waits for the fence
            // (await, complete) sees them dropped: a BO whose handle was closed is freed by then.
            try {
                for (GpuMapping m : mappings) {
                    m.put();
                }
                client.device().jobFinished(this);
            } finally {
                fence.signal();
            }
        }
    }

    @Override
    public String toString() {
        return "Job[" + name + ", " + status + "]";
    }
}
