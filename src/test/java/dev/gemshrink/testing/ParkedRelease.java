package dev.gemshrink.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Placement;
import dev.gemshrink.core.ReclaimDomain;
import dev.gemshrink.core.ReclaimStage;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.SwapStore;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The use-after-free race between the LRU scan and object release, for any driver, ordered with latches: the scan
 * parks the least recently used object on its private list and finds its reservation lock taken (the test holds it),
 * goes on to the next object and is held inside that one's swap write; meanwhile the test drops the parked object's
 * last reference (so it is freed while parked), releases its lock and lets the scan finish. The freed object must be
 * gone from every list (the scan must not splice it back), the other one evicted, and every invariant hold.
 */
public final class ParkedRelease {
    private ParkedRelease() {
    }

    /**
     * A driver set up for the scenario: two idle, evictable BOs, the first the least recently used.
     *
     * @param gem               the driver's core device
     * @param parked            the core object of the least recently used BO (the one that gets parked)
     * @param evicted           the core object of the other BO (the one the scan evicts)
     * @param dropLastReference drops every reference to the parked BO (handle and mappings), so it is freed
     * @param check             checks every invariant, the driver's included
     * @param shutdown          closes the driver's clients and device
     */
    public record Scenario(GemDevice gem, ShmemObject parked, ShmemObject evicted, Runnable dropLastReference,
            Supplier<List<Violation>> check, Runnable shutdown) implements AutoCloseable {
        @Override
        public void close() {
            shutdown.run();
        }
    }

    /**
     * Runs the race.
     *
     * @param open builds the driver on the given swap store and creates the two BOs
     * @throws InterruptedException when interrupted
     */
    public static void run(Function<SwapStore, Scenario> open) throws InterruptedException {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(1024));
        try (Scenario s = open.apply(swap)) {
            GemDevice gem = s.gem();
            ShmemObject parked = s.parked();
            ShmemObject other = s.evicted();
            gem.lruLock().lock();
            try {
                ReclaimStage stage = gem.stageOf(parked);
                ReclaimDomain where = stage.perDomain() ? parked.home() : gem.domain();
                assertThat(where.list(stage).head()).as("the parked BO is the least recently used")
                        .isSameAs(parked);
            } finally {
                gem.lruLock().unlock();
            }
            CountDownLatch storing = new CountDownLatch(1);
            CountDownLatch gate = new CountDownLatch(1);
            swap.failStoresWith(() -> {
                storing.countDown();
                awaitQuietly(gate);
                return null; // let the write through
            });
            AtomicLong freed = new AtomicLong(-1);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread scanner = new Thread(() -> {
                try {
                    freed.set(gem.shrinker().scan(1 << 20));
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "scanner");
            parked.resv().lock();
            try {
                scanner.start();
                assertThat(storing.await(10, TimeUnit.SECONDS)).as("the scan reached the second BO").isTrue();
                assertThat(gem.placementOf(parked)).as("parked on the scan's private list").isEqualTo(Placement.NONE);
                assertThat(parked.isFreed()).isFalse();
                s.dropLastReference().run();
                assertThat(parked.isFreed()).as("freed while parked").isTrue();
            } finally {
                parked.resv().unlock();
                gate.countDown();
            }
            scanner.join(10_000);
            assertThat(scanner.isAlive()).isFalse();
            assertThat(failed.get()).isNull();
            swap.heal();
            assertThat(freed.get()).isEqualTo(other.pageCount());
            assertThat(gem.objects()).doesNotContain(parked);
            assertThat(gem.placementOf(parked)).isEqualTo(Placement.NONE);
            assertThat(gem.reclaimStages().stages()).filteredOn(st -> st.placement() == Placement.EVICTABLE)
                    .allSatisfy(st -> assertThat(gem.total(st).size()).as("objects on %s", st).isZero());
            assertThat(gem.placementOf(other)).isEqualTo(Placement.EVICTED);
            assertThat(s.check().get()).as("invariant violations").isEmpty();
        }
    }

    private static void awaitQuietly(CountDownLatch gate) {
        try {
            if (!gate.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("gate not opened");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
