package dev.gemshrink.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.testing.ThreadStates;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Two allocations reclaiming at once: the one whose round finds nothing (the other round holds the candidates)
 * waits for the other round instead of failing, one whose shortfall came back while others took it tries again, and
 * one alone fails as before.
 */
class ConcurrentReclaimTest {
    private static final long WAIT = 10;

    @Test
    void aRoundThatFindsNothingWaitsForTheRoundBesideIt() throws Exception {
        PagePool pool = PagePool.ofPages(4);
        int[] held = pool.allocate(4, "held");
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        pool.addReclaimHook(pages -> {
            switch (calls.incrementAndGet()) {
                case 1: // the first allocation's round: it holds what it will free until the gate opens
                    entered.countDown();
                    await(gate);
                    return pool.free(Arrays.copyOfRange(held, 0, 2));
                case 2: // the second allocation's round, beside the first: nothing is left for it
                    return 0;
                default: // the second allocation again, after the first round ended
                    return pool.free(Arrays.copyOfRange(held, 2, 4));
            }
        });
        CompletableFuture<int[]> first = onNewThread(() -> pool.allocate(2, "first"));
        assertThat(entered.await(WAIT, TimeUnit.SECONDS)).isTrue();
        Thread[] second = new Thread[1];
        CompletableFuture<int[]> secondResult = new CompletableFuture<>();
        second[0] = new Thread(() -> {
            try {
                secondResult.complete(pool.allocate(2, "second"));
            } catch (Throwable t) {
                secondResult.completeExceptionally(t);
            }
        });
        second[0].start();
        ThreadStates.awaitParkedIn(second[0], PagePool.class, WAIT, TimeUnit.SECONDS);
        assertThat(calls).hasValue(2);
        gate.countDown();
        assertThat(first.get(WAIT, TimeUnit.SECONDS)).hasSize(2);
        assertThat(secondResult.get(WAIT, TimeUnit.SECONDS)).hasSize(2);
        assertThat(calls).hasValue(3);
        assertThat(pool.freePages()).isZero();
    }

    @Test
    void roundsWhosePagesOthersTookAreNotFailedAttempts() {
        PagePool pool = PagePool.ofPages(2);
        int[][] held = {pool.allocate(2, "held")};
        AtomicInteger calls = new AtomicInteger();
        pool.addReclaimHook(pages -> {
            int freed = pool.free(held[0]);
            if (calls.incrementAndGet() <= PagePool.RECLAIM_RETRIES) {
                held[0] = pool.allocateNoReclaim(2, "thief"); // another user takes them before the allocation can
            }
            return freed;
        });
        assertThat(pool.allocate(2, "wanted")).hasSize(2);
        assertThat(calls).hasValue(PagePool.RECLAIM_RETRIES + 1);
    }

    @Test
    void pagesOthersFreedAndTookWhileARoundFoundNothingDoNotEndTheAllocation() {
        PagePool pool = PagePool.ofPages(2);
        int[] others = pool.allocate(1, "another user's");
        int[] reclaimable = pool.allocate(1, "reclaimable");
        AtomicInteger calls = new AtomicInteger();
        pool.addReclaimHook(pages -> {
            if (calls.incrementAndGet() == 1) {
                // While this round finds nothing, another thread frees a page and takes it again before this
                // allocation can: it came back, so reclaim is making progress and this round is not the last.
                onNewThread(() -> {
                    pool.free(others);
                    return pool.allocateNoReclaim(1, "another user's again");
                }).join();
                return 0;
            }
            return pool.free(reclaimable);
        });
        assertThat(pool.allocate(1, "wanted")).containsExactly(reclaimable);
        assertThat(calls).hasValue(2);
        assertThat(pool.freePages()).isZero();
    }

    @Test
    void aRoundAloneThatFindsNothingFailsAtOnce() {
        PagePool pool = PagePool.ofPages(2);
        pool.allocate(2, "held");
        AtomicInteger calls = new AtomicInteger();
        pool.addReclaimHook(pages -> {
            calls.incrementAndGet();
            return 0;
        });
        assertThatThrownBy(() -> pool.allocate(1, "more"))
                .isInstanceOfSatisfying(GemException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOMEM));
        assertThat(calls).hasValue(1);
    }

    @Test
    void anAllocationInsideARoundDoesNotWaitForRounds() throws Exception {
        PagePool pool = PagePool.ofPages(2);
        pool.allocate(2, "held");
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<Throwable> nested = new CompletableFuture<>();
        pool.addReclaimHook(pages -> {
            int call = calls.incrementAndGet();
            if (call == 1) { // another thread's round, running throughout
                entered.countDown();
                await(gate);
                return 0;
            }
            if (call == 2) { // this thread's round allocates: its own nested round finds nothing and must fail
                try {
                    pool.allocate(1, "nested");
                    nested.complete(null);
                } catch (Throwable t) {
                    nested.complete(t);
                }
            }
            return 0;
        });
        CompletableFuture<Throwable> other = onNewThread(() -> {
            try {
                pool.allocate(1, "other");
                return null;
            } catch (GemException expected) {
                return expected; // nothing to free anywhere: the point is only that it holds a round open
            }
        });
        assertThat(entered.await(WAIT, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<Throwable> outer = onNewThread(() -> {
            try {
                pool.allocate(1, "outer");
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        assertThat(nested.get(WAIT, TimeUnit.SECONDS)).isInstanceOf(GemException.class);
        gate.countDown();
        assertThat(outer.get(WAIT, TimeUnit.SECONDS)).isInstanceOf(GemException.class);
        other.get(WAIT, TimeUnit.SECONDS);
    }

    /** Runs on a thread of its own (not a shared pool, whose one thread a blocked task could hold). */
    private static <T> CompletableFuture<T> onNewThread(Supplier<T> body) {
        CompletableFuture<T> f = new CompletableFuture<>();
        new Thread(() -> {
            try {
                f.complete(body.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        }).start();
        return f;
    }

    private static void await(CountDownLatch gate) {
        try {
            if (!gate.await(WAIT, TimeUnit.SECONDS)) {
                throw new AssertionError("gate never opened");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
