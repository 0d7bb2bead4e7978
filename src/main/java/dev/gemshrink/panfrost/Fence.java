package dev.gemshrink.panfrost;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A job's completion fence (a dma_fence): signalled once, when the job is finished. A BO with an unsignalled fence
 * is busy and is never reclaimed. */
public final class Fence {
    private final CountDownLatch done = new CountDownLatch(1);
    private final String name;

    Fence(String name) {
        this.name = name;
    }

    /**
     * Returns whether the fence has signalled.
     *
     * @return true once signalled
     */
    public boolean isSignalled() {
        return done.getCount() == 0;
    }

    /**
     * Waits for the fence.
     *
     * @param timeout how long at most
     * @param unit    its unit
     * @return true when signalled in time
     * @throws InterruptedException when interrupted
     */
    public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return done.await(timeout, unit);
    }

    void signal() {
        done.countDown();
    }

    @Override
    public String toString() {
        return "Fence[" + name + (isSignalled() ? ", signalled]" : "]");
    }
}
