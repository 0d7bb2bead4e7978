package dev.gemshrink.locking;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link ReentrantLock} that tells the {@link LockValidator} when it is taken and released, so its order against
 * the library's other locks is checked. A blocking {@link #lock()} is validated before it waits; a successful
 * {@link #tryLock()} is recorded as held but adds no order dependency (it cannot wait, so it cannot deadlock). With
 * validation off each call costs one extra volatile read.
 */
public final class TrackedLock extends ReentrantLock {
    private static final long serialVersionUID = 1L;

    private final transient LockClass lockClass;
    /** Which lock of its class this is, in reports (kept in the serialized form, like the lock's state). */
    private final String name;

    /**
     * Creates an unlocked, non-fair lock.
     *
     * @param lockClass the class it belongs to
     * @param name      which lock of the class this is (what it protects), for reports; a string rather than the
     *                  owner itself, so naming the lock never runs code that might take locks
     */
    public TrackedLock(LockClass lockClass, String name) {
        this.lockClass = lockClass;
        this.name = name;
    }

    /**
     * Returns the lock's class.
     *
     * @return the class given at creation
     */
    public LockClass lockClass() {
        return lockClass;
    }

    @Override
    public void lock() {
        LockValidator.acquire(lockClass, this, null);
        super.lock();
    }

    @Override
    public void lockInterruptibly() throws InterruptedException {
        LockValidator.acquire(lockClass, this, null);
        boolean locked = false;
        try {
            super.lockInterruptibly();
            locked = true;
        } finally {
            if (!locked) {
                LockValidator.release(this);
            }
        }
    }

    @Override
    public boolean tryLock() {
        if (super.tryLock()) {
            LockValidator.acquiredByTry(lockClass, this);
            return true;
        }
        return false;
    }

    @Override
    public boolean tryLock(long timeout, TimeUnit unit) throws InterruptedException {
        if (super.tryLock(timeout, unit)) {
            LockValidator.acquiredByTry(lockClass, this);
            return true;
        }
        return false;
    }

    @Override
    public void unlock() {
        super.unlock();
        LockValidator.release(this);
    }

    @Override
    public String toString() {
        return lockClass + "[" + name + "]";
    }
}
