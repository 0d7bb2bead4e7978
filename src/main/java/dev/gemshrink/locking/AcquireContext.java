package dev.gemshrink.locking;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An acquire context for taking several {@link ResvLock}s without deadlock (the kernel's {@code ww_acquire_ctx}).
 * Each context gets a ticket when created; the lower the ticket, the older the context. Under wait-die an older
 * context waits for a younger holder, and a younger one gets {@code EDEADLK}: it must release everything it holds
 * ({@link #unlockAll()}), take the contended lock with {@link #lockSlow}, and then take the rest again.
 * {@link #lockAll} does that loop for you.
 *
 * <p>A context belongs to one thread. Closing it releases whatever it still holds.
 */
public final class AcquireContext implements AutoCloseable {
    private static final AtomicLong TICKETS = new AtomicLong();

    private final long ticket = TICKETS.incrementAndGet();
    private final List<ResvLock> held = new ArrayList<>();
    private int backoffs;

    /** Creates a context with a fresh ticket (younger than every existing context). */
    public AcquireContext() {
    }

    boolean isOlderThan(AcquireContext other) {
        return ticket < other.ticket;
    }

    /**
     * Takes one lock under this context.
     *
     * @param lock the lock
     * @throws GemException EDEADLK when an older context holds it: back off and retry
     */
    public void lock(ResvLock lock) {
        lock.lock(this, false);
        held.add(lock);
    }

    /**
     * Takes the lock that made this context die, waiting as long as needed. Call it only while holding nothing.
     *
     * @param lock the contended lock
     * @throws IllegalStateException when the context still holds locks
     */
    public void lockSlow(ResvLock lock) {
        if (!held.isEmpty()) {
            throw new IllegalStateException(this + ": lockSlow while holding " + held.size() + " locks");
        }
        lock.lock(this, true);
        held.add(lock);
    }

    /**
     * Takes all the locks, backing off and retrying on {@code EDEADLK} until it holds every one. Duplicates are
     * taken once.
     *
     * @param locks the locks to take
     */
    public void lockAll(Collection<ResvLock> locks) {
        List<ResvLock> wanted = new ArrayList<>(new LinkedHashSet<>(locks));
        ResvLock takenSlow = null;
        while (true) {
            ResvLock current = null;
            try {
                for (ResvLock l : wanted) {
                    if (l != takenSlow) {
                        current = l;
                        lock(l);
                    }
                }
                return;
            } catch (GemException e) {
                if (e.errno() != Errno.EDEADLK) {
                    throw e;
                }
                backoffs++;
                unlockAll();
                lockSlow(current);
                takenSlow = current;
            }
        }
    }

    /**
     * Returns the locks held, in the order taken.
     *
     * @return a copy of the held locks
     */
    public List<ResvLock> held() {
        return List.copyOf(held);
    }

    /**
     * Returns how many times this context backed off after {@code EDEADLK} inside {@link #lockAll}.
     *
     * @return the back-off count
     */
    public int backoffs() {
        return backoffs;
    }

    /** Releases every lock this context holds, in reverse order. */
    public void unlockAll() {
        for (int i = held.size() - 1; i >= 0; i--) {
            held.get(i).unlock();
        }
        held.clear();
    }

    /** Releases every lock this context still holds. */
    @Override
    public void close() {
        unlockAll();
    }

    @Override
    public String toString() {
        return "AcquireContext#" + ticket;
    }
}
