package dev.gemshrink.locking;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;

/**
 * A buffer object's reservation lock, with the kernel's ww-mutex semantics ({@code dma_resv}). It is not reentrant:
 * {@link #tryLock()} fails when the calling thread already holds the lock, which is what reclaim needs (it runs
 * inside allocations made while the caller holds locks, and must skip those objects rather than take them again).
 *
 * <p>Locking several objects goes through an {@link AcquireContext}, which uses wait-die: when a context meets a
 * lock held by an older context it dies ({@code EDEADLK}) instead of waiting, backs off and retries; an older
 * context waits. Waits therefore only ever go from older to younger, so no cycle (no deadlock) can form.
 *
 * <p>All reservation locks are one {@link LockClass} ({@link LockClass#RESERVATION}) for the {@link LockValidator};
 * the ones taken under one acquire context may nest in any order.
 *
 * <p>Implementation: a monitor guards the holder fields; it is held only for a few instructions, never while the
 * caller's critical section runs.
 */
public final class ResvLock {
    private final Object owner; // what the lock protects: its toString names it in messages
    // Written under this monitor; volatile so that isHeldByCurrentThread and a failing tryLock need no monitor: only
    // the current thread can make holder == itself or end it, so a plain read answers exactly for the caller.
    private volatile Thread holder;
    private AcquireContext holderCtx; // guarded by this; null when locked without a context
    // Guarded by this: threads in wait() for the lock. Unlock notifies only when there is one: a notify on a monitor
    // that never waited inflates it, and an inflated monitor costs every later lock and unlock.
    private int waiters;

    /**
     * Creates an unlocked lock.
     *
     * @param owner the object it protects; its {@code toString()} names the lock in messages
     */
    public ResvLock(Object owner) {
        this.owner = owner;
    }

    /**
     * Blocks until the lock is taken, without an acquire context (use a context to hold more than one).
     *
     * @throws IllegalStateException when the calling thread already holds it (that would deadlock)
     */
    public void lock() {
        Thread me = Thread.currentThread();
        if (holder == me) {
            throw new IllegalStateException(owner + ": reservation lock already held by this thread");
        }
        LockValidator.acquire(LockClass.RESERVATION, this, null);
        boolean interrupted = false;
        synchronized (this) {
            while (holder != null) {
                waiters++;
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                } finally {
                    waiters--;
                }
            }
            holder = me;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Takes the lock if nobody holds it, the calling thread included. Never blocks: this is the only way reclaim
     * takes a reservation lock.
     *
     * @return true when the lock was taken
     */
    public boolean tryLock() {
        if (holder != null) {
            return false; // a snapshot is enough to fail: a try-lock may fail spuriously
        }
        synchronized (this) {
            if (holder != null) {
                return false;
            }
            holder = Thread.currentThread();
        }
        LockValidator.acquiredByTry(LockClass.RESERVATION, this);
        return true;
    }

    /**
     * Releases the lock.
     *
     * @throws IllegalStateException when the calling thread does not hold it
     */
    public void unlock() {
        synchronized (this) {
            if (holder != Thread.currentThread()) {
                throw new IllegalStateException(owner + ": unlock by a thread that does not hold the reservation lock");
            }
            holder = null;
            holderCtx = null;
            if (waiters > 0) {
                notifyAll();
            }
        }
        LockValidator.release(this);
    }

    /**
     * Returns whether the calling thread holds this lock.
     *
     * @return true when held by the current thread
     */
    public boolean isHeldByCurrentThread() {
        return holder == Thread.currentThread();
    }

    /**
     * Returns whether any thread holds this lock (a snapshot, for diagnostics).
     *
     * @return true when locked
     */
    public boolean isLocked() {
        return holder != null;
    }

    /** Locks under a context with wait-die; see {@link AcquireContext#lock}. */
    void lock(AcquireContext ctx, boolean slow) {
        Thread me = Thread.currentThread();
        if (holder == me) {
            throw new IllegalStateException(owner + ": reservation lock already held by this thread");
        }
        LockValidator.acquire(LockClass.RESERVATION, this, ctx);
        boolean interrupted = false;
        boolean locked = false;
        try {
            synchronized (this) {
                while (holder != null) {
                    // Wait-die: a younger context never waits for an older one; it dies instead. The slow path is
                    // taken only while the context holds nothing else, so waiting there cannot close a cycle.
                    if (!slow && holderCtx != null && holderCtx.isOlderThan(ctx)) {
                        throw new GemException(Errno.EDEADLK, owner + ": held by an older acquire context ("
                                + holderCtx + "), " + ctx + " must back off");
                    }
                    waiters++;
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } finally {
                        waiters--;
                    }
                }
                holder = me;
                holderCtx = ctx;
            }
            locked = true;
        } finally {
            if (!locked) {
                LockValidator.release(this); // died (EDEADLK): not held after all
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Runs {@code body} with the lock held: taken and released here unless the calling thread holds it already (then
     * the body runs inside the caller's locked section, like the kernel's {@code _locked} variants).
     *
     * @param body what to run
     * @param <T>  what it returns
     * @return the body's result
     */
    public <T> T locked(java.util.function.Supplier<T> body) {
        if (isHeldByCurrentThread()) {
            return body.get();
        }
        lock();
        try {
            return body.get();
        } finally {
            unlock();
        }
    }

    @Override
    public String toString() {
        return "ResvLock[" + owner + "]";
    }
}
