package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link ShrinkerRegistry} with fake shrinkers: the Linux {@code do_shrink_slab} arithmetic (delta, cap, batches,
 * deferred work), direct reclaim lowering the priority, STOP, registration rules, unregistering while reclaim runs
 * (close waits for in-flight calls) and from inside a call, the debugfs-like count/scan and the stats snapshot.
 */
class ShrinkerRegistryTest {
    private final ShrinkerRegistry registry = new ShrinkerRegistry();

    private static long[] work(long freeable, long deferred, int priority, int seeks) {
        return ShrinkerRegistry.scanWork(freeable, deferred, priority, seeks);
    }

    // ------------------------------------------------------------------ arithmetic

    @Test
    void scanWorkFollowsTheLinuxFormula() {
        assertThat(work(1 << 20, 0, 12, 2)).as("(2^20 >> 12) * 4 / 2").containsExactly(512, 512);
        assertThat(work(1 << 20, 0, 12, 1)).containsExactly(1024, 1024);
        assertThat(work(1 << 20, 0, 12, 4)).containsExactly(256, 256);
        assertThat(work(1 << 20, 0, 0, 0)).as("seeks 0: freeable / 2").containsExactly(1 << 19, 1 << 19);
        assertThat(work(1 << 20, 0, 12, 0)).as("seeks 0 ignores priority").containsExactly(1 << 19, 1 << 19);
        assertThat(work(4095, 0, 12, 2)).as("less than 2^priority: no new work").containsExactly(0, 0);
        assertThat(work(1 << 20, 4096, 12, 2)).as("deferred >> priority is added").containsExactly(512, 513);
        assertThat(work(1 << 20, 1 << 20, 4, 2)).as("(2^20 >> 4) + (2^16 * 2)")
                .containsExactly(1 << 17, (1 << 16) + (1 << 17));
        assertThat(work(100, 0, 0, 1)).as("delta 400 capped at 2 * freeable").containsExactly(400, 200);
        assertThat(work(100, 1L << 40, 0, 2)).as("deferred capped at 2 * freeable").containsExactly(200, 200);
        assertThat(work(0, 1000, 0, 2)).containsExactly(0, 0);
    }

    @Test
    void scanWorkSaturatesInsteadOfOverflowing() {
        long max = Long.MAX_VALUE;
        // (2^62 - 1) * 4 / 2 = 2^63 - 2: exact, although (2^62 - 1) * 4 does not fit in a long.
        assertThat(work(max, 0, 1, 2)).containsExactly(max - 1, max - 1);
        assertThat(work(max, 0, 0, 1)).as("(2^63 - 1) * 4: clamped").containsExactly(max, max);
        assertThat(work(max - 1, 0, 0, 2)).as("2 * freeable clamped").containsExactly(max, max);
        assertThat(work(max, max, 0, 2)).as("deferred + delta clamped").containsExactly(max, max);
        assertThat(work(max / 2 + 1, max, 0, 0)).as("seeks 0").containsExactly(max / 4 + 1, max);
        assertThat(work(1 << 20, max, 12, 2)).as("deferred capped at 2 * freeable")
                .containsExactly(512, 1 << 21);
    }

    @Test
    void aShrinkerWithAHugeCountIsScannedAndItsDeferredWorkSaturates() {
        FakeShrinker f = new FakeShrinker("huge", Long.MAX_VALUE - 1);
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThat(registry.reclaim(1000, true)).as("2 * freeable must not read as negative").isEqualTo(1000);
        assertThat(f.scans()).containsExactly(128L, 128L, 128L, 128L, 128L, 128L, 128L, 104L);
        assertThat(r.stats().deferred()).isPositive();

        f.onScan = sc -> Shrinker.STOP;
        for (int i = 1; i <= 3; i++) {
            assertThat(registry.shrinkSlab(0, Long.MAX_VALUE, true)).isZero();
            assertThat(f.scans()).as("round %d still calls the shrinker", i).hasSize(8 + i);
            assertThat(r.stats().deferred()).as("round %d: deferred work saturates", i).isEqualTo(Long.MAX_VALUE);
        }
    }

    @Test
    void freedPagesSaturateWhenAShrinkerReportsHugeNumbers() {
        FakeShrinker f = new FakeShrinker("liar", 1 << 20);
        f.onScan = sc -> Long.MAX_VALUE / 2 + 1;
        registry.register(f);
        FakeShrinker next = new FakeShrinker("next", 1 << 20);
        registry.register(next);
        assertThat(registry.shrinkSlab(12, Long.MAX_VALUE, true)).isEqualTo(Long.MAX_VALUE);
        assertThat(f.scans()).as("the target was met after two calls").hasSize(2);
        assertThat(next.scans()).isEmpty();
    }

    @Test
    void scansInBatchesOf128() {
        FakeShrinker f = new FakeShrinker("f", 1 << 20);
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThat(registry.shrinkSlab(12, Long.MAX_VALUE, true)).isEqualTo(512);
        assertThat(f.scans()).containsExactly(128L, 128L, 128L, 128L);
        ShrinkerStats s = r.stats();
        assertThat(s.scans()).isEqualTo(4);
        assertThat(s.scanned()).isEqualTo(512);
        assertThat(s.freed()).isEqualTo(512);
        assertThat(s.deferred()).as("all the work was done").isZero();
        assertThat(ShrinkerRegistry.DEFAULT_BATCH).isEqualTo(128);
    }

    @Test
    void theShrinkersOwnBatchIsUsedAndTheRemainderDeferred() {
        FakeShrinker f = new FakeShrinker("f", 1 << 20, 2, 100);
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThat(registry.shrinkSlab(12, Long.MAX_VALUE, true)).isEqualTo(500);
        assertThat(f.scans()).containsExactly(100L, 100L, 100L, 100L, 100L);
        assertThat(r.stats().deferred()).as("512 - 500 left over").isEqualTo(12);
    }

    @Test
    void aLastPartialBatchIsScannedWhenItCoversEverythingFreeable() {
        FakeShrinker f = new FakeShrinker("f", 50);
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThat(registry.shrinkSlab(0, Long.MAX_VALUE, true)).as("delta 100 >= freeable 50").isEqualTo(100);
        assertThat(f.scans()).containsExactly(100L);
        assertThat(r.stats().deferred()).isZero();
    }

    @Test
    void unfinishedWorkIsDeferredToTheNextCall() {
        FakeShrinker f = new FakeShrinker("f", 1000);
        ShrinkerRegistry.Registration r = registry.register(f);

        // priority 4: delta = (1000 >> 4) * 4 / 2 = 124, below a batch and below freeable: nothing scanned.
        assertThat(registry.shrinkSlab(4, Long.MAX_VALUE, true)).isZero();
        assertThat(f.scans()).isEmpty();
        assertThat(r.stats().deferred()).isEqualTo(124);
        assertThat(r.stats().scans()).isZero();

        // next call: total = (124 >> 4) + 124 = 131 -> one batch of 128; deferred = 124 + 124 - 128 = 120.
        assertThat(registry.shrinkSlab(4, Long.MAX_VALUE, true)).isEqualTo(128);
        assertThat(f.scans()).containsExactly(128L);
        assertThat(r.stats().deferred()).isEqualTo(120);

        // total = (120 >> 4) + 124 = 131 again: deferred = 120 + 124 - 128 = 116.
        registry.shrinkSlab(4, Long.MAX_VALUE, true);
        assertThat(f.scans()).containsExactly(128L, 128L);
        assertThat(r.stats().deferred()).isEqualTo(116);
    }

    @Test
    void deferredWorkIsCappedAtTwiceFreeable() {
        FakeShrinker f = new FakeShrinker("f", 100);
        f.onScan = sc -> Shrinker.STOP;
        ShrinkerRegistry.Registration r = registry.register(f);
        for (int i = 0; i < 5; i++) {
            registry.shrinkSlab(0, Long.MAX_VALUE, true);
            assertThat(r.stats().deferred()).isLessThanOrEqualTo(200);
        }
        assertThat(r.stats().deferred()).isEqualTo(200);
        assertThat(f.scans()).hasSize(5).allMatch(n -> n == 128L);
    }

    @Test
    void noCountMeansNoScanAndDeferredIsKept() {
        FakeShrinker f = new FakeShrinker("f", 1000);
        ShrinkerRegistry.Registration r = registry.register(f);
        registry.shrinkSlab(4, Long.MAX_VALUE, true);
        assertThat(r.stats().deferred()).isEqualTo(124);
        f.freeable(0);
        assertThat(registry.shrinkSlab(0, Long.MAX_VALUE, true)).isZero();
        assertThat(f.scans()).isEmpty();
        assertThat(r.stats().deferred()).as("an empty shrinker keeps its deferred work").isEqualTo(124);
    }

    @Test
    void stopEndsOnlyThatShrinkersLoop() {
        FakeShrinker stuck = new FakeShrinker("stuck", 1 << 20);
        stuck.onScan = sc -> Shrinker.STOP;
        FakeShrinker ok = new FakeShrinker("ok", 1 << 20);
        ShrinkerRegistry.Registration rs = registry.register(stuck);
        ShrinkerRegistry.Registration ro = registry.register(ok);

        assertThat(registry.shrinkSlab(12, Long.MAX_VALUE, true)).isEqualTo(512);
        assertThat(stuck.scans()).as("one call, then STOP").containsExactly(128L);
        assertThat(rs.stats().stops()).isEqualTo(1);
        assertThat(rs.stats().freed()).isZero();
        assertThat(rs.stats().deferred()).as("nothing was scanned: all 512 deferred").isEqualTo(512);
        assertThat(ok.scans()).hasSize(4);
        assertThat(ro.stats().stops()).isZero();
    }

    /** Throws {@code t}, a RuntimeException or an Error, from a shrinker callback. */
    private static long raise(Throwable t) {
        if (t instanceof Error e) {
            throw e;
        }
        throw (RuntimeException) t;
    }

    @Test
    void aScanThatThrowsPropagatesAndTheWorkNotDoneStaysDeferred() {
        for (Throwable failure : List.of(new IllegalStateException("scan bug"), new AssertionError("scan bug"))) {
            ShrinkerRegistry reg = new ShrinkerRegistry();
            FakeShrinker f = new FakeShrinker("throws", 1 << 20);
            AtomicInteger calls = new AtomicInteger();
            f.onScan = sc -> calls.incrementAndGet() == 2 ? raise(failure) : sc.nrToScan();
            ShrinkerRegistry.Registration r = reg.register(f);

            assertThatThrownBy(() -> reg.shrinkSlab(12, Long.MAX_VALUE, true)).isSameAs(failure);
            assertThat(r.stats().deferred()).as("%s: 512 given, 128 done", failure).isEqualTo(512 - 128);
            assertThat(r.stats().scans()).as("only the call that returned is counted").isEqualTo(1);

            // The next round is given the deferred work too: (384 >> 12) + 512 = 512.
            assertThat(reg.shrinkSlab(12, Long.MAX_VALUE, true)).isEqualTo(512);
            assertThat(r.stats().deferred()).isEqualTo(384);
            assertTimeoutPreemptively(Duration.ofSeconds(5), r::close, "close after a throwing scan");
            assertThat(reg.registrations()).isEmpty();
        }
    }

    @Test
    void aCountThatThrowsPropagatesAndChangesNothing() {
        for (Throwable failure : List.of(new IllegalStateException("count bug"), new AssertionError("count bug"))) {
            ShrinkerRegistry reg = new ShrinkerRegistry();
            FakeShrinker f = new FakeShrinker("throws", 1000);
            ShrinkerRegistry.Registration r = reg.register(f);
            reg.shrinkSlab(4, Long.MAX_VALUE, true);
            assertThat(r.stats().deferred()).isEqualTo(124);
            f.onCount = () -> raise(failure);
            assertThatThrownBy(() -> reg.shrinkSlab(4, Long.MAX_VALUE, true)).isSameAs(failure);
            assertThatThrownBy(r::count).isSameAs(failure);
            assertThat(r.stats().deferred()).isEqualTo(124);
            assertThat(f.scans()).isEmpty();
            assertTimeoutPreemptively(Duration.ofSeconds(5), r::close, "close after a throwing count");
        }
    }

    @Test
    void anyNegativeScanResultReadsAsStop() {
        FakeShrinker f = new FakeShrinker("negative", 1 << 20);
        f.onScan = sc -> -7;
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThat(registry.shrinkSlab(12, Long.MAX_VALUE, true)).isZero();
        assertThat(f.scanCalls()).isEqualTo(1);
        assertThat(r.scan(10)).isZero();
        ShrinkerStats s = r.stats();
        assertThat(s.stops()).isEqualTo(2);
        assertThat(s.freed()).isZero();
        assertThat(s.deferred()).isEqualTo(512);
    }

    @Test
    void shrinkSlabStopsOnceTheTargetIsMet() {
        FakeShrinker first = new FakeShrinker("first", 1 << 20);
        FakeShrinker second = new FakeShrinker("second", 1 << 20);
        ShrinkerRegistry.Registration r1 = registry.register(first);
        registry.register(second);
        // A call never asks for more than the target still missing: 128, then 72.
        assertThat(registry.shrinkSlab(12, 200, true)).isEqualTo(200);
        assertThat(first.scans()).containsExactly(128L, 72L);
        assertThat(second.scans()).as("target met before its turn").isEmpty();
        assertThat(second.counts.get()).isZero();
        assertThat(r1.stats().deferred()).isEqualTo(512 - 200);
    }

    @Test
    void shrinkSlabRejectsPrioritiesOutOfRange() {
        assertThatThrownBy(() -> registry.shrinkSlab(-1, 1, true)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> registry.shrinkSlab(13, 1, true)).isInstanceOf(IllegalArgumentException.class);
        assertThat(registry.shrinkSlab(ShrinkerRegistry.DEF_PRIORITY, 1, true)).isZero();
    }

    // ------------------------------------------------------------------ direct reclaim

    @Test
    void reclaimLowersThePriorityUntilTheTargetIsMet() {
        FakeShrinker f = new FakeShrinker("f", 1 << 20);
        ShrinkerRegistry.Registration r = registry.register(f);
        // priority 12 frees 512 (< 1000); priority 11 is given 1024 of work and stops after the 488 still
        // missing: three batches of 128 and a last call asking for 104.
        assertThat(registry.reclaim(1000, true)).isEqualTo(1000);
        assertThat(f.counts.get()).as("priorities 12 and 11").isEqualTo(2);
        assertThat(f.scans()).containsExactly(128L, 128L, 128L, 128L, 128L, 128L, 128L, 104L);
        assertThat(r.stats().deferred()).as("1024 given at priority 11, 488 done").isEqualTo(1024 - 488);
    }

    @Test
    void reclaimOfASmallTargetStopsAfterTheFirstBatch() {
        FakeShrinker f = new FakeShrinker("f", 1 << 20);
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThat(registry.reclaim(100, true)).isEqualTo(100);
        assertThat(f.counts.get()).isEqualTo(1);
        assertThat(f.scans()).as("never asks for more than the target").containsExactly(100L);
        assertThat(r.stats().deferred()).isEqualTo(512 - 100);
    }

    @Test
    void reclaimGoesDownToPriorityZeroForASmallShrinker() {
        FakeShrinker f = new FakeShrinker("f", 1);
        registry.register(f);
        assertThat(registry.reclaim(1, true)).isEqualTo(1);
        assertThat(f.counts.get()).as("priorities 12 down to 0").isEqualTo(13);
        assertThat(f.scans()).as("at priority 0: delta 2, capped at 2 * freeable, asked for the 1 wanted")
                .containsExactly(1L);
    }

    @Test
    void reclaimWithNothingFreeableReturnsZeroWithoutScanning() {
        FakeShrinker f = new FakeShrinker("f", 0);
        registry.register(f);
        assertThat(registry.reclaim(10, true)).isZero();
        assertThat(registry.reclaim(10)).isZero();
        assertThat(f.counts.get()).isEqualTo(26);
        assertThat(f.scans()).isEmpty();
        assertThat(new ShrinkerRegistry().reclaim(10, true)).as("no shrinkers").isZero();
    }

    @Test
    void reclaimPassesCanSwapToCountAndScan() {
        List<Boolean> seen = Collections.synchronizedList(new ArrayList<>());
        FakeShrinker f = new FakeShrinker("f", 1 << 20);
        f.onScan = sc -> {
            seen.add(sc.canSwap());
            return sc.nrToScan();
        };
        registry.register(f);
        registry.reclaim(1, false);
        registry.reclaim(1, true);
        registry.reclaim(1); // the pool's hook: swapping allowed
        assertThat(seen).containsExactly(false, true, true);
        assertThat(f.scanCanBlock()).as("no form without the flag blocks").containsOnly(false);
        assertThat(f.countCanBlock()).containsOnly(false);
    }

    // ------------------------------------------------------------------ registration

    @Test
    void duplicateNamesAreRejectedUntilUnregistered() {
        ShrinkerRegistry.Registration r = registry.register(new FakeShrinker("gem", 1));
        assertThatThrownBy(() -> registry.register(new FakeShrinker("gem", 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gem");
        assertThatThrownBy(() -> registry.register(null)).isInstanceOf(NullPointerException.class);
        assertThat(registry.registrations()).containsExactly(r);
        r.close();
        r.close(); // idempotent
        assertThat(registry.registrations()).isEmpty();
        assertThat(registry.find("gem")).isEmpty();
        ShrinkerRegistry.Registration again = registry.register(new FakeShrinker("gem", 3));
        assertThat(registry.find("gem")).contains(again);
        assertThat(again.count()).isEqualTo(3);
    }

    @Test
    void registrationsAndStatsAreInRegistrationOrder() {
        ShrinkerRegistry.Registration a = registry.register(new FakeShrinker("a", 1));
        ShrinkerRegistry.Registration b = registry.register(new FakeShrinker("b", 1));
        ShrinkerRegistry.Registration c = registry.register(new FakeShrinker("c", 1));
        assertThat(registry.registrations()).containsExactly(a, b, c);
        assertThat(registry.stats()).extracting(ShrinkerStats::name).containsExactly("a", "b", "c");
        assertThat(registry.find("b")).contains(b);
        assertThat(b.shrinker().name()).isEqualTo("b");
        assertThat(b.toString()).contains("b");
        b.close();
        assertThat(registry.registrations()).containsExactly(a, c);
        assertThat(registry.stats()).extracting(ShrinkerStats::name).containsExactly("a", "c");
    }

    @Test
    void closeWaitsForACallInFlightAndTheShrinkerIsNeverCalledAgain() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        FakeShrinker slow = new FakeShrinker("slow", 1 << 20);
        slow.onScan = sc -> {
            entered.countDown();
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return sc.nrToScan();
        };
        ShrinkerRegistry.Registration r = registry.register(slow);
        Thread reclaimer = new Thread(() -> registry.shrinkSlab(12, Long.MAX_VALUE, true), "reclaimer");
        reclaimer.setDaemon(true);
        reclaimer.start();
        assertThat(entered.await(5, TimeUnit.SECONDS)).as("scan entered").isTrue();

        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = new Thread(() -> {
            r.close();
            closed.countDown();
        }, "closer");
        closer.setDaemon(true);
        closer.start();
        assertThat(closed.await(200, TimeUnit.MILLISECONDS)).as("close returned while a scan is running").isFalse();
        assertThat(registry.find("slow")).as("unregistered at once").isEmpty();

        release.countDown();
        assertThat(closed.await(5, TimeUnit.SECONDS)).as("close returned after the scan").isTrue();
        reclaimer.join(5000);
        assertThat(reclaimer.isAlive()).isFalse();

        int scansAtClose = slow.scanCalls();
        int countsAtClose = slow.counts.get();
        assertThat(registry.reclaim(1 << 20, true)).isZero();
        assertThat(registry.shrinkSlab(0, Long.MAX_VALUE, true)).isZero();
        assertThat(r.count()).isZero();
        assertThat(r.scan(128)).isZero();
        assertThat(slow.scanCalls()).isEqualTo(scansAtClose);
        assertThat(slow.counts.get()).isEqualTo(countsAtClose);
    }

    @Test
    void closeWaitsForADebugfsScanInFlight() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        FakeShrinker slow = new FakeShrinker("slow", 10);
        slow.onScan = sc -> {
            entered.countDown();
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 7;
        };
        ShrinkerRegistry.Registration r = registry.register(slow);
        AtomicReference<Long> result = new AtomicReference<>();
        Thread scanner = new Thread(() -> result.set(r.scan(10)), "debugfs-scan");
        scanner.setDaemon(true);
        scanner.start();
        assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = new Thread(() -> {
            r.close();
            closed.countDown();
        }, "closer");
        closer.setDaemon(true);
        closer.start();
        assertThat(closed.await(200, TimeUnit.MILLISECONDS)).isFalse();
        release.countDown();
        assertThat(closed.await(5, TimeUnit.SECONDS)).isTrue();
        scanner.join(5000);
        assertThat(result.get()).isEqualTo(7L);
        assertThat(r.scan(10)).isZero();
        assertThat(slow.scanCalls()).isEqualTo(1);
    }

    @Test
    void unregisterRacingWithReclaimNeverCallsAClosedShrinker() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            Thread th = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        registry.reclaim(1 << 16, true);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "reclaim-" + t);
            th.setDaemon(true);
            threads.add(th);
            th.start();
        }
        AtomicBoolean calledAfterClose = new AtomicBoolean();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
        int round = 0;
        while (System.nanoTime() < deadline) {
            AtomicBoolean closedFlag = new AtomicBoolean();
            FakeShrinker f = new FakeShrinker("churn-" + round++, 1 << 20);
            f.onScan = sc -> {
                if (closedFlag.get()) {
                    calledAfterClose.set(true);
                }
                return sc.nrToScan();
            };
            f.onCount = () -> {
                if (closedFlag.get()) {
                    calledAfterClose.set(true);
                }
            };
            ShrinkerRegistry.Registration r = registry.register(f);
            Thread.onSpinWait();
            r.close();
            closedFlag.set(true);
        }
        stop.set(true);
        for (Thread th : threads) {
            th.join(5000);
            assertThat(th.isAlive()).isFalse();
        }
        assertThat(failure.get()).isNull();
        assertThat(calledAfterClose.get()).as("a shrinker was called after close() returned").isFalse();
        assertThat(registry.registrations()).isEmpty();
        assertThat(round).isGreaterThan(1);
    }

    @Test
    void unregisteringFromInsideItsOwnDebugfsScanReturnsAndTheCallFinishes() {
        AtomicReference<ShrinkerRegistry.Registration> self = new AtomicReference<>();
        FakeShrinker f = new FakeShrinker("self", 1 << 20);
        f.onScan = sc -> {
            self.get().close();
            return sc.nrToScan();
        };
        self.set(registry.register(f));
        assertThat(assertTimeoutPreemptively(Duration.ofSeconds(5), () -> self.get().scan(10)))
                .as("the call in flight finishes").isEqualTo(10);
        assertThat(registry.find("self")).isEmpty();
        assertThat(self.get().scan(10)).isZero();
        assertThat(f.scanCalls()).isEqualTo(1);
    }

    @Test
    void unregisteringFromInsideItsOwnScanDuringReclaimEndsItsBatchLoop() {
        AtomicReference<ShrinkerRegistry.Registration> self = new AtomicReference<>();
        FakeShrinker f = new FakeShrinker("self", 1 << 20);
        f.onScan = sc -> {
            self.get().close();
            return sc.nrToScan();
        };
        FakeShrinker other = new FakeShrinker("other", 1 << 20);
        self.set(registry.register(f));
        registry.register(other);
        assertThat(assertTimeoutPreemptively(Duration.ofSeconds(5), () -> registry.shrinkSlab(12, Long.MAX_VALUE,
                true))).as("one call of self, then other's round").isEqualTo(128 + 512);
        assertThat(f.scanCalls()).as("no new call after close returned").isEqualTo(1);
        assertThat(registry.find("self")).isEmpty();
        registry.reclaim(1 << 20, true);
        assertThat(f.scanCalls()).isEqualTo(1);
    }

    @Test
    void unregisteringFromInsideItsOwnCountReturnsAndNoScanFollows() {
        for (boolean debugfs : new boolean[] {false, true}) {
            ShrinkerRegistry reg = new ShrinkerRegistry();
            AtomicReference<ShrinkerRegistry.Registration> self = new AtomicReference<>();
            FakeShrinker f = new FakeShrinker("self", 1 << 20);
            f.onCount = () -> self.get().close();
            self.set(reg.register(f));
            long r = assertTimeoutPreemptively(Duration.ofSeconds(5),
                    () -> debugfs ? self.get().count() : reg.shrinkSlab(12, Long.MAX_VALUE, true));
            assertThat(r).as("debugfs %s: the count in flight returns, no scan follows", debugfs)
                    .isEqualTo(debugfs ? 1 << 20 : 0);
            assertThat(f.scans()).isEmpty();
            assertThat(reg.find("self")).isEmpty();
            assertThat(f.counts.get()).isEqualTo(1);
        }
    }

    /**
     * A's scan allocates, so direct reclaim runs in the same thread (as the page pool's hook does) and calls B's
     * scan, which closes A: A's outer call is on the closing thread's own stack.
     */
    @Test
    void closeFromANestedReclaimInsideTheClosedShrinkersCallDoesNotWaitForItself() {
        ThreadLocal<Boolean> nested = ThreadLocal.withInitial(() -> false);
        AtomicReference<ShrinkerRegistry.Registration> ra = new AtomicReference<>();
        AtomicInteger aScansAtClose = new AtomicInteger(-1);
        FakeShrinker a = new FakeShrinker("a", 1 << 20);
        FakeShrinker b = new FakeShrinker("b", 1 << 20);
        a.onScan = sc -> {
            if (nested.get()) {
                return 0; // the nested reclaim finds nothing here and moves on to b
            }
            nested.set(true);
            try {
                registry.reclaim(64, true); // an allocation inside a's scan
            } finally {
                nested.set(false);
            }
            return sc.nrToScan();
        };
        b.onScan = sc -> {
            if (nested.get() && aScansAtClose.get() < 0) {
                ra.get().close();
                aScansAtClose.set(a.scanCalls());
            }
            return sc.nrToScan();
        };
        ra.set(registry.register(a));
        registry.register(b);

        long freed = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> registry.shrinkSlab(12, Long.MAX_VALUE,
                true), "close waited for its own thread's call");
        assertThat(aScansAtClose.get()).as("b closed a").isPositive();
        assertThat(registry.find("a")).isEmpty();
        assertThat(a.scanCalls()).as("a's outer batch loop started no new call after close returned")
                .isEqualTo(aScansAtClose.get());
        assertThat(freed).as("a's one outer call, then b's round").isEqualTo(128 + 512);
        registry.reclaim(1 << 20, true);
        assertThat(a.scanCalls()).isEqualTo(aScansAtClose.get());
        assertThat(ra.get().count()).isZero();
    }

    @Test
    void closeFromANestedReclaimStillWaitsForOtherThreadsCalls() throws Exception {
        ThreadLocal<Boolean> nested = ThreadLocal.withInitial(() -> false);
        AtomicReference<ShrinkerRegistry.Registration> ra = new AtomicReference<>();
        CountDownLatch otherInside = new CountDownLatch(1);
        CountDownLatch releaseOther = new CountDownLatch(1);
        CountDownLatch closing = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        FakeShrinker a = new FakeShrinker("a", 1 << 20);
        FakeShrinker b = new FakeShrinker("b", 1 << 20);
        a.onScan = sc -> {
            if (Thread.currentThread().getName().equals("other")) {
                otherInside.countDown();
                await(releaseOther);
                return sc.nrToScan();
            }
            if (!nested.get()) {
                nested.set(true);
                try {
                    registry.reclaim(64, true);
                } finally {
                    nested.set(false);
                }
            }
            return 0;
        };
        b.onScan = sc -> {
            if (nested.get() && closing.getCount() > 0) {
                closing.countDown();
                ra.get().close();
                closed.countDown();
            }
            return sc.nrToScan();
        };
        ra.set(registry.register(a));
        registry.register(b);

        Thread other = new Thread(() -> ra.get().scan(10), "other");
        other.setDaemon(true);
        other.start();
        assertThat(otherInside.await(5, TimeUnit.SECONDS)).isTrue();
        Thread closer = new Thread(() -> registry.shrinkSlab(12, Long.MAX_VALUE, true), "closer");
        closer.setDaemon(true);
        closer.start();
        assertThat(closing.await(5, TimeUnit.SECONDS)).as("b is closing a").isTrue();
        assertThat(closed.await(200, TimeUnit.MILLISECONDS)).as("close returned while another thread's call runs")
                .isFalse();
        releaseOther.countDown();
        assertThat(closed.await(5, TimeUnit.SECONDS)).as("close returned once the other call ended").isTrue();
        closer.join(5000);
        other.join(5000);
        assertThat(closer.isAlive() || other.isAlive()).isFalse();
        assertThat(registry.find("a")).isEmpty();
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(5, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ debugfs and stats

    @Test
    void debugfsCountAndScan() {
        List<ShrinkControl> controls = Collections.synchronizedList(new ArrayList<>());
        FakeShrinker f = new FakeShrinker("f", 42);
        f.onScan = sc -> {
            controls.add(sc);
            return Math.min(sc.nrToScan(), 42);
        };
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThat(r.count()).isEqualTo(42);
        assertThat(r.scan(10)).isEqualTo(10);
        assertThat(r.scan(1000)).as("no batching through debugfs").isEqualTo(42);
        assertThat(f.scans()).containsExactly(10L, 1000L);
        assertThat(controls).allMatch(sc -> sc.canSwap() && sc.canBlock());

        f.onScan = sc -> Shrinker.STOP;
        assertThat(r.scan(5)).as("STOP reads as 0").isZero();
        ShrinkerStats s = r.stats();
        assertThat(s.stops()).isEqualTo(1);
        assertThat(s.scans()).isEqualTo(3);
        assertThat(s.freed()).isEqualTo(52);
        assertThat(s.deferred()).as("debugfs scans defer nothing").isZero();
    }

    @Test
    void aDebugfsScanOfANegativeCountIsEinvalAndCallsNothing() {
        FakeShrinker f = new FakeShrinker("f", 42);
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThatThrownBy(() -> r.scan(-1)).isInstanceOf(GemException.class)
                .extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.EINVAL);
        assertThat(f.scans()).isEmpty();
        assertThat(r.stats().scans()).isZero();
        assertThat(r.scan(0)).isZero();
    }

    @Test
    void statsSnapshotReportsWhatTheShrinkerReported() {
        FakeShrinker f = new FakeShrinker("reporting", 100);
        f.onScan = sc -> {
            sc.nrScanned(7);
            sc.report(3, 4, 5);
            return 7;
        };
        ShrinkerRegistry.Registration r = registry.register(f);
        ShrinkerStats empty = r.stats();
        assertThat(empty).isEqualTo(new ShrinkerStats("reporting", 0, 0, 0, 0, 0, 0, 0, 0));

        assertThat(r.scan(10)).isEqualTo(7);
        ShrinkerStats one = r.stats();
        assertThat(one.name()).isEqualTo("reporting");
        assertThat(one.scans()).isEqualTo(1);
        assertThat(one.scanned()).isEqualTo(7);
        assertThat(one.freed()).isEqualTo(7);
        assertThat(one.purged()).isEqualTo(3);
        assertThat(one.evicted()).isEqualTo(4);
        assertThat(one.skippedLocked()).isEqualTo(5);
        assertThat(one.stops()).isZero();
        assertThat(one.deferred()).isZero();

        f.onScan = sc -> {
            sc.nrScanned(2);
            sc.report(0, 0, 2);
            return Shrinker.STOP;
        };
        assertThat(r.scan(10)).isZero();
        ShrinkerStats two = r.stats();
        assertThat(two).isEqualTo(new ShrinkerStats("reporting", 2, 9, 7, 3, 4, 7, 1, 0));
        assertThat(one.scans()).as("a snapshot does not change").isEqualTo(1);
        assertThat(registry.stats()).containsExactly(two);
    }

    @Test
    void eachScanCallOfAReclaimStartsWithAnEmptyReport() {
        FakeShrinker f = new FakeShrinker("reports-once", 1 << 20);
        AtomicInteger calls = new AtomicInteger();
        f.onScan = sc -> {
            if (calls.incrementAndGet() == 1) {
                sc.report(3, 4, 5);
            }
            return sc.nrToScan();
        };
        ShrinkerRegistry.Registration r = registry.register(f);
        assertThat(registry.shrinkSlab(12, Long.MAX_VALUE, true)).isEqualTo(512);
        assertThat(f.scanCalls()).isEqualTo(4);
        ShrinkerStats s = r.stats();
        assertThat(s.purged()).as("the first call's report counted once").isEqualTo(3);
        assertThat(s.evicted()).isEqualTo(4);
        assertThat(s.skippedLocked()).isEqualTo(5);
    }

    @Test
    void shrinkControlCarriesItsArgumentsAndResults() {
        ShrinkControl sc = new ShrinkControl(64, false, true);
        assertThat(sc.nrToScan()).isEqualTo(64);
        assertThat(sc.canBlock()).isFalse();
        assertThat(sc.canSwap()).isTrue();
        assertThat(sc.nrScanned()).isZero();
        sc.nrToScan(32);
        sc.nrScanned(16);
        sc.report(1, 2, 3);
        assertThat(sc.nrToScan()).isEqualTo(32);
        assertThat(sc.nrScanned()).isEqualTo(16);
        assertThat(sc.nrPurged()).isEqualTo(1);
        assertThat(sc.nrEvicted()).isEqualTo(2);
        assertThat(sc.nrSkippedLocked()).isEqualTo(3);
        Shrinker defaults = new Shrinker() {
            @Override
            public String name() {
                return "defaults";
            }

            @Override
            public long count(ShrinkControl c) {
                return 0;
            }

            @Override
            public long scan(ShrinkControl c) {
                return Shrinker.STOP;
            }
        };
        assertThat(defaults.seeks()).isEqualTo(Shrinker.DEFAULT_SEEKS).isEqualTo(2);
        assertThat(defaults.batch()).isZero();
    }
}
