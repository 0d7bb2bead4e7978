package dev.gemshrink.core;

import java.util.concurrent.TimeUnit;

/**
 * What a busy object waits for before it can be reclaimed: the fences of the GPU work that uses it. An
 * {@link Evictor} hands one out under the object's reservation lock ({@link Evictor#idleWait}); active reclaim then
 * waits on it with no lock held, because the work it waits for may need those locks to finish.
 */
@FunctionalInterface
public interface IdleWait {

    /**
     * Waits until the object's work is done, at most {@code timeout}.
     *
     * @param timeout how long at most
     * @param unit    its unit
     * @return true when the work finished in time
     * @throws InterruptedException when the waiting thread is interrupted
     */
    boolean await(long timeout, TimeUnit unit) throws InterruptedException;
}
