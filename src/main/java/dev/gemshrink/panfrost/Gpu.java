package dev.gemshrink.panfrost;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.TrackedLock;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulated GPU: one thread running submitted jobs in order. A faulting job fails alone, whatever its work
 * throws (see {@link Job#run}); only {@link #close()} stops the thread, after the jobs queued before it. A job that
 * leaves the thread interrupted does not stop it either: the flag is cleared after each job.
 *
 * <p>Locking: {@link #lifecycle} guards {@link #closed} and orders every queued job before the stop token; it is a
 * leaf (nothing else is taken under it but the queue's own lock).
 */
final class Gpu implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gpu.class);

    private final PanfrostDevice dev;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final Object stopToken = new Object();
    /** The lock class of every GPU's lifecycle lock (a leaf). */
    static final LockClass LIFECYCLE_LOCK = LockClass.named("Gpu.lifecycle");

    private final TrackedLock lifecycle;
    private boolean closed; // guarded by lifecycle

    Gpu(PanfrostDevice dev, String name) {
        this.dev = dev;
        this.lifecycle = new TrackedLock(LIFECYCLE_LOCK, name);
        this.thread = new Thread(this::loop, name + "-gpu");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Queues a job.
     *
     * @throws GemException EINVAL when the GPU is closed (the job would never run and its fence never signal)
     */
    void submit(Job job) {
        lifecycle.lock();
        try {
            if (closed) {
                throw new GemException(Errno.EINVAL, "cannot run job " + job.name() + ": the device is closed");
            }
            queue.add(job);
        } finally {
            lifecycle.unlock();
        }
    }

    private void loop() {
        while (true) {
            Object next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                continue; // only the stop token stops the GPU
            }
            if (next == stopToken) {
                return;
            }
            Job job = (Job) next;
            try {
                job.run(dev);
                if (job.status() == Job.Status.FAULTED) {
                    log(job);
                }
            } catch (Throwable t) {
                // The job's fence has signalled (run signals in a finally); only its teardown failed.
                LOG.error("{}: dropping its references failed", job, t);
            } finally {
                Thread.interrupted(); // a job's interrupt is not a request to stop the GPU
            }
        }
    }

    private static void log(Job job) {
        Throwable cause = job.error().map(Throwable::getCause).orElse(null);
        if (cause instanceof VirtualMachineError) {
            LOG.error("{} faulted: its work threw {}; the GPU goes on with the next job", job, cause, cause);
        } else {
            LOG.debug("{} faulted: {}", job, job.error().map(Throwable::getMessage).orElse(""));
        }
    }

    /** Runs the jobs already queued, then stops the thread (waiting 30 s at most); later submits are refused. */
    @Override
    public void close() {
        lifecycle.lock();
        try {
            if (!closed) {
                closed = true;
                queue.add(stopToken);
            }
        } finally {
            lifecycle.unlock();
        }
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
