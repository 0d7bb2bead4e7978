package dev.gemshrink.testing;

import dev.gemshrink.panfrost.GpuContext;
import dev.gemshrink.panfrost.GpuWork;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link GpuWork} that blocks on a latch: it signals that it has started (and on which thread), waits until the
 * test opens the gate, then runs its inner work. This holds the GPU thread at a known point without sleeping. So
 * that a broken test cannot hang the GPU thread for ever, the wait gives up after {@link #MAX_WAIT_SECONDS} and
 * the work then throws {@link IllegalStateException} (the job faults).
 *
 * <p>Thread safety: the latches are the only shared state.
 */
public final class GatedGpuWork implements GpuWork {
    /** How long the work waits for its gate at most. */
    public static final long MAX_WAIT_SECONDS = 10;

    private final GpuWork inner;
    private final CountDownLatch started = new CountDownLatch(1);
    private final CountDownLatch gate = new CountDownLatch(1);
    private final AtomicReference<Thread> runner = new AtomicReference<>();

    /** Makes a gated work that touches no memory once released. */
    public GatedGpuWork() {
        this(GpuWork.NONE);
    }

    /**
     * Makes a gated work.
     *
     * @param inner what it does once the gate is open
     */
    public GatedGpuWork(GpuWork inner) {
        this.inner = Objects.requireNonNull(inner);
    }

    @Override
    public void run(GpuContext ctx) {
        runner.set(Thread.currentThread());
        started.countDown();
        boolean opened;
        try {
            opened = gate.await(MAX_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted at the gate", e);
        }
        if (!opened) {
            throw new IllegalStateException("the gate was not opened within " + MAX_WAIT_SECONDS + " s");
        }
        inner.run(ctx);
    }

    /**
     * Waits until the work has started (it is then blocked at the gate, or past it once opened).
     *
     * @param timeout how long at most
     * @param unit    its unit
     * @return true when started in time
     * @throws InterruptedException when interrupted
     */
    public boolean awaitStarted(long timeout, TimeUnit unit) throws InterruptedException {
        return started.await(timeout, unit);
    }

    /**
     * Returns the thread running the work (the GPU thread), once it has started.
     *
     * @return the thread, or null before the work started
     */
    public Thread runner() {
        return runner.get();
    }

    /** Opens the gate: the work runs its inner work and returns. */
    public void open() {
        gate.countDown();
    }
}
