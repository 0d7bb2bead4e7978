package dev.gemshrink.testing;

import java.util.concurrent.TimeUnit;

/**
 * Waits, without sleeping, until another thread is parked at a known place: blocked or waiting with a given class
 * on its stack (for example inside {@code ResvLock.lock}). Tests use it to order a race deterministically: hold a
 * lock, start a thread, wait until it is parked on that lock, act, then release.
 */
public final class ThreadStates {
    private ThreadStates() {
    }

    /**
     * Waits until {@code t} is BLOCKED, WAITING or TIMED_WAITING with a frame of class {@code where} on its stack.
     *
     * @param t       the thread
     * @param where   the class that must be on its stack while it waits
     * @param timeout how long at most
     * @param unit    its unit
     * @throws AssertionError when the thread ends, or is not parked there in time
     */
    public static void awaitParkedIn(Thread t, Class<?> where, long timeout, TimeUnit unit) {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (true) {
            Thread.State s = t.getState();
            if (s == Thread.State.TERMINATED) {
                throw new AssertionError(t.getName() + " ended instead of waiting in " + where.getSimpleName());
            }
            if ((s == Thread.State.BLOCKED || s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING)
                    && onStack(t, where)) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(t.getName() + " is not waiting in " + where.getSimpleName() + " (" + s
                        + ")");
            }
            Thread.yield();
        }
    }

    /**
     * Waits until {@code t} has ended or is parked in {@code where} (see {@link #awaitParkedIn}): for a thread that
     * should return at once but, if the bug is there, blocks.
     *
     * @param t       the thread
     * @param where   the class that must be on its stack while it waits
     * @param timeout how long at most
     * @param unit    its unit
     * @return true when it ended, false when it is parked there
     * @throws AssertionError when neither happens in time
     */
    public static boolean awaitEndedOrParkedIn(Thread t, Class<?> where, long timeout, TimeUnit unit) {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (true) {
            Thread.State s = t.getState();
            if (s == Thread.State.TERMINATED) {
                return true;
            }
            if ((s == Thread.State.BLOCKED || s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING)
                    && onStack(t, where)) {
                return false;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(t.getName() + " neither ended nor waits in " + where.getSimpleName()
                        + " (" + s + ")");
            }
            Thread.yield();
        }
    }

    private static boolean onStack(Thread t, Class<?> where) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().equals(where.getName())) {
                return true;
            }
        }
        return false;
    }
}
