package dev.gemshrink.testing;

import java.util.concurrent.locks.Lock;

/** Takes two locks nested, the way lock-order tests teach a validator an order. */
public final class LockNesting {
    private LockNesting() {
    }

    /**
     * Takes {@code outer}, then {@code inner} while holding it, and releases both.
     *
     * @param outer the lock taken first
     * @param inner the lock taken under it
     */
    public static void nest(Lock outer, Lock inner) {
        outer.lock();
        try {
            inner.lock();
            inner.unlock();
        } finally {
            outer.unlock();
        }
    }
}
