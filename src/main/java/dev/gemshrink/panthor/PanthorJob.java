package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.IdleWait;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A job submitted on a VM: its VM is busy (none of the BOs bound in it is reclaimed) from submission until the job
 * is done. A job ends DONE, FAULTED (a GPU fault or anything else its work threw: it fails alone), or
 * INCREMENTAL_RENDERING_NEEDED (a tiler heap could not grow).
 */
public final class PanthorJob {
    /** Where a job is. */
    public enum Status {
        /** Submitted, not finished. */
        QUEUED,
        /** Finished without a fault. */
        DONE,
        /** Its work faulted; see {@link #error()}. */
        FAULTED,
        /** A tiler heap could not grow; the job asks for incremental rendering. See {@link #error()}. */
        INCREMENTAL_RENDERING_NEEDED
    }

    private final String name;
    private final PanthorVm vm;
    private final JobWork work;
    private final CountDownLatch done = new CountDownLatch(1);
    // Written by the GPU thread before the latch opens; read after it (the latch orders them).
    private volatile Status status = Status.QUEUED;
    private volatile GemException error;
    // Handed to the GPU thread (its VM is validated); volatile: active reclaim reads it without a lock.
    private volatile boolean queued;

    PanthorJob(String name, PanthorVm vm, JobWork work) {
        this.name = name;
        this.vm = vm;
        this.work = Objects.requireNonNull(work, "work");
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
     * Returns the VM the job runs on.
     *
     * @return the VM
     */
    public PanthorVm vm() {
        return vm;
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
     * Returns why the job did not finish normally: the fault, or the heap growth that failed.
     *
     * @return the error, if any
     */
    public Optional<GemException> error() {
        return Optional.ofNullable(error);
    }

    /**
     * Waits for the job to finish; once this returns true its VM no longer counts it as in flight.
     *
     * @param timeout how long at most
     * @param unit    its unit
     * @return true when finished in time
     * @throws InterruptedException when interrupted
     */
    public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return done.await(timeout, unit);
    }

    /** Marks the job handed to the GPU thread: its VM is validated, so waiting for it can end. */
    void markQueued() {
        queued = true;
    }

    /** Whether the job was handed to the GPU thread. */
    boolean isQueued() {
        return queued;
    }

    /**
     * Ends a job whose submission failed before it ran: its VM forgets it and anyone waiting for it is woken. Its
     * status stays QUEUED (the caller never got the job).
     */
    void abandon() {
        finish();
    }

    /**
     * The fence of several jobs: waits until all are done, within one overall timeout.
     *
     * @param jobs the jobs
     * @return the wait
     */
    static IdleWait allDone(List<PanthorJob> jobs) {
        List<PanthorJob> copy = List.copyOf(jobs);
        return (timeout, unit) -> {
            long deadline = System.nanoTime() + unit.toNanos(timeout);
            for (PanthorJob j : copy) {
                if (!j.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                    return false;
                }
            }
            return true;
        };
    }

    /** Waits for the job to finish, keeping an interrupt for later. */
    void awaitUninterruptibly() {
        boolean interrupted = false;
        while (true) {
            try {
                done.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs the work on the GPU thread. Whatever it throws ends this job alone (an Error becomes an EFAULT with it as
     * the cause); the VM forgets the job before the latch opens, so a waiter sees the VM idle.
     */
    void run() {
        try {
            work.run(new JobContext(vm, name));
            status = Status.DONE;
        } catch (IncrementalRenderingNeeded e) {
            error = e;
            status = Status.INCREMENTAL_RENDERING_NEEDED;
        } catch (Throwable t) {
            error = t instanceof GemException g ? g
                    : new GemException(Errno.EFAULT, "job " + name + " failed: " + t, t);
            status = Status.FAULTED;
        } finally {
            finish();
        }
    }

    private void finish() {
        try {
            vm.finished(this);
        } finally {
            done.countDown();
        }
    }

    @Override
    public String toString() {
        return "PanthorJob[" + name + ", " + status + "]";
    }
}
