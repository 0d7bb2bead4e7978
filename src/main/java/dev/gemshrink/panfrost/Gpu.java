package dev.gemshrink.panfrost;

import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The simulated GPU: one thread running submitted jobs in order. A faulting job fails alone. */
final class Gpu implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gpu.class);

    private final PanfrostDevice dev;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final Object stopToken = new Object();

    Gpu(PanfrostDevice dev, String name) {
        this.dev = dev;
        this.thread = new Thread(this::loop, name + "-gpu");
        thread.setDaemon(true);
        thread.start();
    }

    void submit(Job job) {
        queue.add(job);
    }

    private void loop() {
        while (true) {
            Object next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (next == stopToken) {
                return;
            }
            Job job = (Job) next;
            try {
                job.run(new GpuContext(dev, job.client().addressSpace(), job.name()));
            } catch (Throwable t) {
                // Job.run contains its work's failures; anything else (its bookkeeping) must not stop the only GPU
                // thread either: every later job of every client would hang.
                LOG.error("GPU thread: {} failed outside its work; continuing", job, t);
            }
            if (job.status() == Job.Status.FAULTED) {
                LOG.debug("{} faulted: {}", job, job.error().map(Throwable::getMessage).orElse(""));
            }
        }
    }

    /** Runs the jobs already queued, then stops the thread. */
    @Override
    public void close() {
        queue.add(stopToken);
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
