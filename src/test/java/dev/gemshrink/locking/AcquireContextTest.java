package dev.gemshrink.locking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Unit tests of {@link ResvLock} (not reentrant, owner-checked unlock) and of {@link AcquireContext}'s wait-die
 * protocol: an older context waits for a younger holder, a younger one gets EDEADLK from an older holder,
 * {@link AcquireContext#lockAll} backs off, counts its backoffs and never deadlocks, even when several threads
 * take overlapping sets in opposite orders.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AcquireContextTest {

    // ------------------------------------------------------------------ ResvLock

    @Test
    void tryLockSucceedsOnlyWhenNobodyHoldsIt() throws Exception {
        ResvLock l = new ResvLock("a");
        assertThat(l.tryLock()).isTrue();
        assertThat(l.isHeldByCurrentThread()).isTrue();
        assertThat(l.isLocked()).isTrue();
        assertThat(l.tryLock()).as("tryLock by the holder itself").isFalse();
        assertThat(onOtherThread(l::tryLock)).as("tryLock by another thread").isFalse();
        l.unlock();
        assertThat(l.isLocked()).isFalse();
        assertThat(onOtherThread(() -> {
            boolean got = l.tryLock();
            l.unlock();
            return got;
        })).isTrue();
    }

    @Test
    void tryLockFailsWhenTheCurrentThreadHoldsItThroughLock() {
        ResvLock l = new ResvLock("a");
        l.lock();
        try {
            assertThat(l.tryLock()).isFalse();
            assertThat(l.isHeldByCurrentThread()).isTrue();
        } finally {
            l.unlock();
        }
    }

    @Test
    void lockByTheHolderThrows() {
        ResvLock l = new ResvLock("a");
        l.lock();
        try {
            assertThatThrownBy(l::lock).isInstanceOf(IllegalStateException.class).hasMessageContaining("already held");
            try (AcquireContext ctx = new AcquireContext()) {
                assertThatThrownBy(() -> ctx.lock(l)).isInstanceOf(IllegalStateException.class);
                assertThat(ctx.held()).isEmpty();
            }
        } finally {
            l.unlock();
        }
        assertThat(l.isLocked()).isFalse();
    }

    @Test
    void unlockByANonHolderThrows() throws Exception {
        ResvLock l = new ResvLock("a");
        assertThatThrownBy(l::unlock).as("unlock of a free lock").isInstanceOf(IllegalStateException.class);
        l.lock();
        try {
            Throwable t = onOtherThreadCatching(l::unlock);
            assertThat(t).as("unlock by another thread").isInstanceOf(IllegalStateException.class);
            assertThat(l.isHeldByCurrentThread()).as("still held by the owner").isTrue();
        } finally {
            l.unlock();
        }
    }

    @Test
    void lockWaitsForTheHolder() throws Exception {
        ResvLock l = new ResvLock("a");
        l.lock();
        AtomicBoolean got = new AtomicBoolean();
        Thread t = new Thread(() -> {
            l.lock();
            got.set(true);
            l.unlock();
        }, "waiter");
        t.start();
        awaitWaiting(t);
        assertThat(got).isFalse();
        l.unlock();
        t.join(10_000);
        assertThat(t.isAlive()).isFalse();
        assertThat(got).isTrue();
    }

    // ------------------------------------------------------------------ wait-die

    @Test
    void olderContextWaitsForAYoungerHolder() throws Exception {
        ResvLock l = new ResvLock("a");
        AcquireContext older = new AcquireContext();
        AcquireContext younger = new AcquireContext();
        younger.lock(l); // this thread, as the younger context
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean got = new AtomicBoolean();
        Thread t = new Thread(() -> {
            try {
                older.lock(l);
                got.set(true);
                older.unlockAll();
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "older");
        t.start();
        awaitWaiting(t);
        assertThat(got).as("older context got a lock the younger one holds").isFalse();
        assertThat(failure.get()).isNull();
        younger.unlockAll();
        t.join(10_000);
        assertThat(t.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
        assertThat(got).isTrue();
        assertThat(l.isLocked()).isFalse();
    }

    @Test
    void youngerContextDiesOnAnOlderHolder() throws Exception {
        ResvLock l = new ResvLock("a");
        ResvLock free = new ResvLock("b");
        AcquireContext older = new AcquireContext();
        AcquireContext younger = new AcquireContext();
        older.lock(l);
        try {
            Throwable t = onOtherThreadCatching(() -> {
                younger.lock(free);
                try {
                    younger.lock(l);
                } finally {
                    assertThat(younger.held()).as("the failed lock is not recorded").containsExactly(free);
                    younger.unlockAll();
                }
            });
            assertThat(t).isInstanceOf(GemException.class);
            assertThat(((GemException) t).errno()).isEqualTo(Errno.EDEADLK);
            assertThat(older.held()).containsExactly(l);
            assertThat(free.isLocked()).isFalse();
        } finally {
            older.unlockAll();
        }
    }

    @Test
    void youngerContextWaitsForAHolderWithoutContext() throws Exception {
        ResvLock l = new ResvLock("a");
        l.lock(); // a plain holder: no age, so any context waits for it
        AcquireContext ctx = new AcquireContext();
        AtomicBoolean got = new AtomicBoolean();
        Thread t = new Thread(() -> {
            ctx.lock(l);
            got.set(true);
            ctx.unlockAll();
        }, "ctx");
        t.start();
        awaitWaiting(t);
        assertThat(got).isFalse();
        l.unlock();
        t.join(10_000);
        assertThat(got).isTrue();
    }

    @Test
    void lockSlowWhileHoldingThrows() {
        ResvLock a = new ResvLock("a");
        ResvLock b = new ResvLock("b");
        try (AcquireContext ctx = new AcquireContext()) {
            ctx.lock(a);
            assertThatThrownBy(() -> ctx.lockSlow(b)).isInstanceOf(IllegalStateException.class);
            assertThat(b.isLocked()).isFalse();
        }
        assertThat(a.isLocked()).as("close released the context's locks").isFalse();
    }

    @Test
    void lockAllWithoutContentionTakesEachLockOnceWithoutBackoff() {
        ResvLock a = new ResvLock("a");
        ResvLock b = new ResvLock("b");
        try (AcquireContext ctx = new AcquireContext()) {
            ctx.lockAll(List.of(b, a, b));
            assertThat(ctx.held()).containsExactly(b, a);
            assertThat(ctx.backoffs()).isZero();
            assertThat(a.isHeldByCurrentThread()).isTrue();
            assertThat(b.isHeldByCurrentThread()).isTrue();
        }
        assertThat(a.isLocked()).isFalse();
        assertThat(b.isLocked()).isFalse();
    }

    @Test
    void lockAllBacksOffFromAnOlderHolderAndCountsIt() throws Exception {
        ResvLock a = new ResvLock("a");
        ResvLock b = new ResvLock("b");
        AcquireContext older = new AcquireContext();
        AcquireContext younger = new AcquireContext();
        older.lock(b);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<List<ResvLock>> heldAfter = new AtomicReference<>();
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                younger.lockAll(List.of(a, b));
                heldAfter.set(younger.held());
                locked.countDown();
                release.await();
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                younger.close(); // a context's locks are released by its own thread
            }
        }, "younger");
        t.start();
        // The younger context takes a, dies on b (held by an older context), releases a and waits for b alone.
        awaitWaiting(t);
        assertThat(failure.get()).isNull();
        assertThat(a.isLocked()).as("the younger context released a while waiting for b").isFalse();
        older.unlockAll();
        assertThat(locked.await(10, TimeUnit.SECONDS)).as("younger context finished lockAll").isTrue();
        assertThat(younger.backoffs()).isEqualTo(1);
        assertThat(heldAfter.get()).as("the contended lock first, then the rest").containsExactly(b, a);
        assertThat(a.isLocked()).isTrue();
        assertThat(b.isLocked()).isTrue();
        release.countDown();
        t.join(10_000);
        assertThat(t.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
        assertThat(a.isLocked()).isFalse();
        assertThat(b.isLocked()).isFalse();
    }

    @Test
    void lockAllOverOverlappingSetsInOppositeOrdersNeverDeadlocks() throws Exception {
        int threads = 4;
        int locksN = 5;
        int rounds = 3000;
        ResvLock[] locks = new ResvLock[locksN];
        int[] guarded = new int[locksN]; // each slot is changed only under its lock
        for (int i = 0; i < locksN; i++) {
            locks[i] = new ResvLock("l" + i);
        }
        LongAdder backoffs = new LongAdder();
        LongAdder updates = new LongAdder();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts[t] = new Thread(() -> {
                SplittableRandom rnd = new SplittableRandom(id);
                try {
                    start.await();
                    for (int r = 0; r < rounds; r++) {
                        // Overlapping windows of 3..5 locks; even threads ascending, odd threads descending,
                        // every 4th round shuffled.
                        int from = rnd.nextInt(locksN - 2);
                        List<ResvLock> set = new ArrayList<>(Arrays.asList(locks)
                                .subList(from, from + 3 + rnd.nextInt(locksN - from - 2)));
                        if (id % 2 == 1) {
                            Collections.reverse(set);
                        }
                        if (r % 4 == 3) {
                            Collections.shuffle(set, new java.util.Random(rnd.nextLong()));
                        }
                        try (AcquireContext ctx = new AcquireContext()) {
                            ctx.lockAll(set);
                            backoffs.add(ctx.backoffs());
                            updates.add(set.size());
                            for (ResvLock l : set) {
                                if (!l.isHeldByCurrentThread()) {
                                    throw new AssertionError(l + " not held after lockAll");
                                }
                            }
                            for (ResvLock l : set) {
                                int i = Arrays.asList(locks).indexOf(l);
                                int v = guarded[i];
                                if (rnd.nextInt(8) == 0) {
                                    Thread.yield();
                                }
                                guarded[i] = v + 1;
                            }
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "lockAll-" + t);
            ts[t].start();
        }
        long t0 = System.nanoTime();
        start.countDown();
        for (Thread t : ts) {
            t.join(20_000);
        }
        for (Thread t : ts) {
            if (t.isAlive()) {
                fail(t.getName() + " did not finish (deadlock?): " + t.getState() + " "
                        + Arrays.toString(t.getStackTrace()));
            }
        }
        assertThat(errors).isEmpty();
        for (ResvLock l : locks) {
            assertThat(l.isLocked()).isFalse();
        }
        long incrementsSeen = Arrays.stream(guarded).asLongStream().sum();
        assertThat(incrementsSeen).as("no lost update: mutual exclusion held").isEqualTo(updates.sum());
        System.out.printf("AcquireContextTest: %d lockAll rounds on %d threads, %d backoffs, %d guarded updates, "
                + "%.0f ms%n", threads * rounds, threads, backoffs.sum(), incrementsSeen,
                (System.nanoTime() - t0) / 1e6);
    }

    // ------------------------------------------------------------------ helpers

    private static <T> T onOtherThread(java.util.concurrent.Callable<T> body) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(body.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "other");
        t.start();
        return f.get(10, TimeUnit.SECONDS);
    }

    private static Throwable onOtherThreadCatching(Runnable body) throws Exception {
        try {
            onOtherThread(() -> {
                body.run();
                return null;
            });
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    /** Waits until the thread blocks in Object.wait (a ResvLock waiter). */
    private static void awaitWaiting(Thread t) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.WAITING) {
            if (!t.isAlive() || System.nanoTime() > until) {
                fail(t.getName() + " did not block: " + t.getState());
            }
            Thread.sleep(1);
        }
    }
}
