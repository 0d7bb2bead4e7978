package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.ThreadStates;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Staged reclaim: a driver's stages and classifier decide the lists and the scan order; msm's four stages (purge,
 * evict, active purge, active evict) expressed on the core; active reclaim waits for a busy object's fence with no
 * lock held and only when the context may block; an object that became costlier is skipped and left for its own
 * list; per-domain lists are visited in LRU order of their domains. Every race here is gated, never slept on.
 */
@Timeout(60)
class ReclaimStagesTest {
    private static final int PAGE = PagePool.PAGE_SIZE;
    private static final long LONG = 30; // seconds: a gate's wait that must not run out

    private GemDevice device;

    @AfterEach
    void tearDown() {
        if (device != null) {
            device.close();
        }
    }

    /** A driver's facts about one object, guarded by the object's reservation lock. */
    private static final class Facts {
        Gate fence; // the last job's fence, or null
        boolean mapped; // mapped in a GPU address space

        boolean busy() {
            return fence != null && !fence.isSignalled();
        }
    }

    /** A job's fence: {@link #entered} counts down when a waiter starts waiting on it. */
    private static class Gate implements IdleWait {
        final CountDownLatch entered = new CountDownLatch(1);
        private final CountDownLatch done = new CountDownLatch(1);

        @Override
        public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
            entered.countDown();
            return done.await(timeout, unit);
        }

        boolean isSignalled() {
            return done.getCount() == 0;
        }

        void signal() {
            done.countDown();
        }
    }

    /** A driver model: facts per object, an evictor that refuses busy objects and names their fence. */
    private static class Driver implements Evictor {
        final Map<ShmemObject, Facts> facts = new ConcurrentHashMap<>();
        final List<String> reclaimed = new CopyOnWriteArrayList<>();

        Facts of(ShmemObject o) {
            return facts.computeIfAbsent(o, k -> new Facts());
        }

        @Override
        public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
            return reclaim(obj, "purge", permit::purge);
        }

        @Override
        public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
            return reclaim(obj, "evict", permit::evict);
        }

        /** BUSY while a job uses the object; otherwise reclaims it through the permit and records it. */
        private Outcome reclaim(ShmemObject obj, String how, java.util.function.IntSupplier permitted) {
            if (of(obj).busy()) {
                return Outcome.BUSY;
            }
            permitted.getAsInt();
            reclaimed.add(how + " " + obj.name());
            return Outcome.DONE;
        }

        @Override
        public IdleWait idleWait(ShmemObject obj) {
            assertThat(obj.resv().isHeldByCurrentThread()).as("asked under the object's lock").isTrue();
            return of(obj).busy() ? of(obj).fence : null;
        }
    }

    /** msm's stages: purge, evict, then (only when the caller may block) active purge and active evict. */
    private static ReclaimStages msm(Driver d) {
        ReclaimStages.Builder b = ReclaimStages.builder();
        ReclaimStage purge = b.stage("purge", Placement.PURGEABLE);
        ReclaimStage evict = b.stage("evict", Placement.EVICTABLE);
        ReclaimStage activePurge = b.stage("active-purge", Placement.PURGEABLE, ReclaimStage.Option.WAIT_FOR_IDLE);
        ReclaimStage activeEvict = b.stage("active-evict", Placement.EVICTABLE, ReclaimStage.Option.WAIT_FOR_IDLE);
        b.stage("evicted-purgeable", Placement.EVICTED_PURGEABLE);
        b.stage("evicted", Placement.EVICTED);
        b.stage("pinned", Placement.PINNED);
        b.stage("unbacked", Placement.NONE);
        return b.build((obj, p) -> {
            boolean busy = d.of(obj).busy();
            return switch (p) {
                case PURGEABLE -> busy ? activePurge : purge;
                case EVICTABLE -> busy ? activeEvict : evict;
                default -> throw new AssertionError("asked about " + p + ", which has one stage");
            };
        });
    }

    /** One stage for each placement but EVICTABLE, after the test's own evictable stages. */
    private static void otherPlacements(ReclaimStages.Builder b) {
        b.stage("rest-purgeable", Placement.PURGEABLE);
        b.stage("rest-evicted-purgeable", Placement.EVICTED_PURGEABLE);
        b.stage("rest-evicted", Placement.EVICTED);
        b.stage("rest-pinned", Placement.PINNED);
        b.stage("rest-unbacked", Placement.NONE);
    }

    private GemDevice build(ReclaimStages stages, Duration fenceWait) {
        device = GemDevice.builder().ramPages(64).swap(SwapStore.inMemory(64)).reclaimStages(stages)
                .fenceWait(fenceWait).build();
        return device;
    }

    private ShmemObject filled(String name, Driver d, ReclaimDomain home) {
        ShmemObject o = device.createObject(name, PAGE, d, home);
        o.getPagesSgt();
        return o;
    }

    /** Marks an object busy with a new fence (a job was submitted using it), as the driver does under its lock. */
    private static Gate submit(ShmemObject o, Driver d) {
        Gate g = new Gate();
        o.resv().lock();
        try {
            d.of(o).fence = g;
            o.restage();
        } finally {
            o.resv().unlock();
        }
        return g;
    }

    /** Maps or unmaps an object in a GPU address space, as the driver does: the fact and the restage under its lock. */
    private static void map(ShmemObject o, Driver d, boolean mapped) {
        o.resv().lock();
        try {
            d.of(o).mapped = mapped;
            o.restage();
        } finally {
            o.resv().unlock();
        }
    }

    private long scan(long pages, boolean canBlock) {
        return new GemShrinker(device, "test").scan(new ShrinkControl(pages, canBlock, true));
    }

    private long count(boolean canBlock) {
        return new GemShrinker(device, "test").count(new ShrinkControl(0, canBlock, true));
    }

    @Test
    void msmFourStagesReclaimCheapestFirstAndWaitForBusyObjectsOnlyInTheActiveStages() throws Exception {
        Driver d = new Driver();
        ReclaimStages stages = msm(d);
        build(stages, Duration.ofSeconds(LONG));
        ShmemObject busyDontneed = filled("busy-dontneed", d, device.domain());
        ShmemObject busyWillneed = filled("busy-willneed", d, device.domain());
        ShmemObject idleDontneed = filled("idle-dontneed", d, device.domain());
        ShmemObject idleWillneed = filled("idle-willneed", d, device.domain());
        busyDontneed.madvise(Madv.DONTNEED);
        idleDontneed.madvise(Madv.DONTNEED);
        Gate f1 = submit(busyDontneed, d);
        Gate f2 = submit(busyWillneed, d);
        assertThat(device.stageOf(busyDontneed)).isEqualTo(stages.stage("active-purge"));
        assertThat(device.stageOf(busyWillneed)).isEqualTo(stages.stage("active-evict"));
        assertThat(device.stageOf(idleDontneed)).isEqualTo(stages.stage("purge"));
        assertThat(device.stageOf(idleWillneed)).isEqualTo(stages.stage("evict"));
        Invariants.assertClean(device);

        AtomicReference<Long> freed = new AtomicReference<>();
        Thread scanner = new Thread(() -> freed.set(scan(4, true)), "scanner");
        scanner.start();
        assertThat(f1.entered.await(LONG, TimeUnit.SECONDS)).as("waits for the busy DONTNEED object").isTrue();
        ThreadStates.awaitParkedIn(scanner, Gate.class, LONG, TimeUnit.SECONDS);
        assertThat(d.reclaimed).containsExactly("purge idle-dontneed", "evict idle-willneed");
        f1.signal();
        assertThat(f2.entered.await(LONG, TimeUnit.SECONDS)).as("waits for the busy WILLNEED object").isTrue();
        ThreadStates.awaitParkedIn(scanner, Gate.class, LONG, TimeUnit.SECONDS);
        f2.signal();
        scanner.join(TimeUnit.SECONDS.toMillis(LONG));

        assertThat(freed.get()).isEqualTo(4);
        assertThat(d.reclaimed).containsExactly("purge idle-dontneed", "evict idle-willneed",
                "purge busy-dontneed", "evict busy-willneed");
        Invariants.assertClean(device);
    }

    @Test
    void aContextThatCannotBlockNeitherCountsNorScansTheActiveStagesAndNeverWaits() {
        Driver d = new Driver();
        build(msm(d), Duration.ofSeconds(LONG));
        ShmemObject busy = filled("busy", d, device.domain());
        ShmemObject idle = filled("idle", d, device.domain());
        Gate f = submit(busy, d);

        assertThat(count(false)).isEqualTo(1);
        assertThat(count(true)).isEqualTo(2);
        assertThat(scan(2, false)).isEqualTo(1);
        assertThat(f.entered.getCount()).as("never waited on").isEqualTo(1);
        assertThat(d.reclaimed).containsExactly("evict idle");
        assertThat(busy.isResident()).isTrue();
        Invariants.assertClean(device);
        f.signal();
        busy.restage(); // the driver's job completion
        assertThat(device.stageOf(busy)).isEqualTo(device.reclaimStages().stage("evict"));
        Invariants.assertClean(device);
    }

    @Test
    void aFenceThatDoesNotSignalWithinTheDefaultTenMillisecondsSkipsTheObjectWithNoLockHeldWhileWaiting() {
        Driver d = new Driver();
        device = GemDevice.builder().ramPages(64).swap(SwapStore.inMemory(64)).reclaimStages(msm(d)).build();
        assertThat(device.fenceWait()).isEqualTo(Duration.ofMillis(10));
        ShmemObject busy = filled("busy", d, device.domain());
        List<String> waits = new CopyOnWriteArrayList<>();
        busy.resv().lock();
        try {
            d.of(busy).fence = new Gate() {
                @Override
                public boolean await(long timeout, TimeUnit unit) {
                    waits.add(unit.toMillis(timeout) + " ms, lru lock held " + device.lruLock().isHeldByCurrentThread()
                            + ", resv held " + busy.resv().isLocked());
                    return false; // the fence did not signal in time
                }
            };
            busy.restage();
        } finally {
            busy.resv().unlock();
        }

        ShrinkControl sc = new ShrinkControl(1, true, true);
        assertThat(new GemShrinker(device, "test").scan(sc)).isEqualTo(Shrinker.STOP);
        assertThat(waits).containsExactly("10 ms, lru lock held false, resv held false");
        assertThat(sc.nrSkippedLocked()).as("reported as skipped").isEqualTo(1);
        assertThat(busy.isResident()).isTrue();
        Invariants.assertClean(device);
    }

    @Test
    void anObjectThatBecameCostlierDuringTheScanIsSkippedAndLeftForItsOwnList() throws Exception {
        CountDownLatch inFirst = new CountDownLatch(1);
        CountDownLatch goFirst = new CountDownLatch(1);
        Driver d = new Driver() {
            @Override
            public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
                if (obj.name().equals("first")) {
                    inFirst.countDown();
                    await(goFirst);
                }
                return super.evict(obj, permit);
            }
        };
        ReclaimStages.Builder b = ReclaimStages.builder();
        ReclaimStage unused = b.stage("unused", Placement.EVICTABLE);
        ReclaimStage mapped = b.stage("mapped", Placement.EVICTABLE, ReclaimStage.Option.BLOCKING);
        otherPlacements(b);
        ReclaimStages stages = b.build((obj, p) -> d.of(obj).mapped ? mapped : unused);
        build(stages, Duration.ofSeconds(LONG));
        ShmemObject first = filled("first", d, device.domain());
        ShmemObject second = filled("second", d, device.domain());

        Thread scanner = new Thread(() -> scan(2, false), "scanner");
        scanner.start();
        assertThat(inFirst.await(LONG, TimeUnit.SECONDS)).isTrue();
        map(second, d, true); // the driver maps it in a GPU address space while the scan is busy with the first
        goFirst.countDown();
        scanner.join(TimeUnit.SECONDS.toMillis(LONG));

        assertThat(d.reclaimed).containsExactly("evict first");
        assertThat(second.isResident()).isTrue();
        assertThat(device.stageOf(second)).isEqualTo(mapped);
        Invariants.assertClean(device);
    }

    @Test
    void perDomainListsAreVisitedInLruOrderOfTheirDomainsAndADomainLeavesWhenEmptied() {
        Driver d = new Driver();
        ReclaimStages.Builder b = ReclaimStages.builder();
        ReclaimStage unused = b.stage("unused", Placement.EVICTABLE);
        ReclaimStage priv = b.stage("private", Placement.EVICTABLE, ReclaimStage.Option.PER_DOMAIN,
                ReclaimStage.Option.BLOCKING);
        otherPlacements(b);
        build(b.build((obj, p) -> d.of(obj).mapped ? priv : unused),
                Duration.ofSeconds(LONG));
        ReclaimDomain vm1 = device.createDomain("vm1");
        ReclaimDomain vm2 = device.createDomain("vm2");
        ReclaimDomain vm3 = device.createDomain("vm3");
        ShmemObject shared = filled("on-device", d, device.domain());
        for (ReclaimDomain vm : List.of(vm1, vm2, vm3)) {
            map(filled("in-" + vm.name(), d, vm), d, true);
        }
        assertThat(device.domainsInLruOrder()).containsExactly(vm1, vm2, vm3);
        vm1.touch(); // a job ran in vm1
        assertThat(device.domainsInLruOrder()).containsExactly(vm2, vm3, vm1);
        assertThat(device.total(priv).pages()).isEqualTo(3);
        assertThat(vm2.pages(priv)).isEqualTo(1);
        assertThat(device.domain().pages(priv)).isZero();
        assertThat(count(false)).as("the private stage only when the caller may block").isEqualTo(1);
        assertThat(count(true)).isEqualTo(4);
        Invariants.assertClean(device);

        assertThat(scan(1, false)).isEqualTo(1);
        assertThat(d.reclaimed).containsExactly("evict on-device");
        assertThat(scan(1, false)).isEqualTo(Shrinker.STOP);
        for (int i = 0; i < 3; i++) {
            assertThat(scan(1, true)).isEqualTo(1);
            Invariants.assertClean(device);
        }
        assertThat(d.reclaimed).containsExactly("evict on-device", "evict in-vm2", "evict in-vm3", "evict in-vm1");
        assertThat(device.domainsInLruOrder()).isEmpty();
        assertThat(device.total(priv).pages()).isZero();
        assertThat(shared.isEvicted()).isTrue();
    }

    @Test
    void aDomainUnlinkedWhileTheScanHeldItsObjectsParkedIsLinkedAgainWhenTheScanSplicesThemBack() throws Exception {
        CountDownLatch inFirst = new CountDownLatch(1);
        CountDownLatch goFirst = new CountDownLatch(1);
        Driver d = new Driver() {
            @Override
            public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
                if (obj.name().equals("first")) {
                    inFirst.countDown();
                    await(goFirst);
                    return Outcome.BUSY; // it stays, spliced back onto its domain's list
                }
                return super.evict(obj, permit);
            }
        };
        ReclaimStages.Builder b = ReclaimStages.builder();
        ReclaimStage unused = b.stage("unused", Placement.EVICTABLE);
        ReclaimStage priv = b.stage("private", Placement.EVICTABLE, ReclaimStage.Option.PER_DOMAIN);
        otherPlacements(b);
        build(b.build((obj, p) -> d.of(obj).mapped ? priv : unused), Duration.ofSeconds(LONG));
        ReclaimDomain vm = device.createDomain("vm");
        ShmemObject first = filled("first", d, vm);
        ShmemObject second = filled("second", d, vm);
        map(first, d, true);
        map(second, d, true);
        assertThat(device.domainsInLruOrder()).containsExactly(vm);

        Thread scanner = new Thread(() -> scan(1, true), "scanner"); // parks first, then asks its evictor
        scanner.start();
        assertThat(inFirst.await(LONG, TimeUnit.SECONDS)).isTrue();
        map(second, d, false); // meanwhile the other object of the domain leaves its private list
        device.drainMoves(); // applied while first is parked: the domain's lists look empty
        goFirst.countDown();
        scanner.join(TimeUnit.SECONDS.toMillis(LONG));

        assertThat(device.stageOf(first)).isEqualTo(priv);
        assertThat(device.domainsInLruOrder()).as("first is on the vm's list again").containsExactly(vm);
        Invariants.assertClean(device);
    }

    /** A driver's builder that declares its GPU jobs never need a reservation lock to finish. */
    private static final class JobsTakeNoResvLock extends DeviceBuilder<JobsTakeNoResvLock> {
        JobsTakeNoResvLock() {
            super("no-resv-jobs");
            reclaimUnderResvMayBlock();
        }

        GemDevice build() {
            return buildGemDevice();
        }
    }

    @Test
    void anAllocationUnderAReservationLockReclaimsBlockingStagesOnlyWhenTheDriverDeclaresItsJobsTakeNoSuchLock() {
        for (boolean declared : new boolean[] {false, true}) {
            Driver d = new Driver();
            ReclaimStages.Builder b = ReclaimStages.builder();
            b.stage("all", Placement.PURGEABLE);
            b.stage("swapped-purgeable", Placement.EVICTED_PURGEABLE);
            b.stage("mapped", Placement.EVICTABLE, ReclaimStage.Option.BLOCKING);
            b.stage("evicted", Placement.EVICTED);
            b.stage("pinned", Placement.PINNED);
            b.stage("unbacked", Placement.NONE);
            ReclaimStages stages = b.build(null);
            device = declared
                    ? new JobsTakeNoResvLock().ramPages(2).swap(SwapStore.inMemory(8)).reclaimStages(stages).build()
                    : GemDevice.builder().ramPages(2).swap(SwapStore.inMemory(8)).reclaimStages(stages).build();
            ShmemObject mapped = filled("mapped", d, device.domain());
            filled("other", d, device.domain());
            ShmemObject third = device.createObject("third", PAGE, d, device.domain());
            if (declared) {
                third.getPagesSgt(); // its allocation's reclaim may block: it evicts from the blocking stage
                assertThat(mapped.isEvicted()).isTrue();
            } else {
                assertThatThrownBy(third::getPagesSgt).isInstanceOf(dev.gemshrink.GemException.class)
                        .satisfies(e -> assertThat(((dev.gemshrink.GemException) e).errno())
                                .isEqualTo(dev.gemshrink.Errno.ENOMEM));
                assertThat(mapped.isResident()).isTrue();
            }
            Invariants.assertClean(device);
            device.close();
            device = null;
        }
    }

    @Test
    void everyLiveObjectIsOnExactlyOneListFromCreationAndAFreedOneOnNone() {
        device = GemDevice.builder().ramPages(64).build();
        ReclaimStages st = device.reclaimStages();
        ShmemObject o = device.createObject("o", PAGE);
        assertThat(device.stageOf(o)).isEqualTo(st.stage("unbacked"));
        assertThat(device.placementOf(o)).isEqualTo(Placement.NONE);
        Invariants.assertClean(device);
        o.getPagesSgt();
        assertThat(device.stageOf(o)).isEqualTo(st.stage("evictable"));
        o.madvise(Madv.DONTNEED);
        assertThat(device.stageOf(o)).isEqualTo(st.stage("purgeable"));
        o.purge();
        assertThat(device.stageOf(o)).isEqualTo(st.stage("unbacked"));
        Invariants.assertClean(device);
        o.free();
        assertThat(device.stageOf(o)).isNull();
        Invariants.assertClean(device);
    }

    @Test
    void theStandardStagesAreOnePerPlacementScannedPurgeableThenSwapPurgeableThenEvictable() {
        assertThat(ReclaimStages.standard().stages()).extracting(ReclaimStage::name).containsExactly("purgeable",
                "evicted-purgeable", "evictable", "evicted", "pinned", "unbacked");
        for (Placement p : Placement.values()) {
            assertThat(ReclaimStages.standard().stageFor(p).placement()).isEqualTo(p);
        }
    }

    @Test
    void badStageSetsAreRefusedWhenBuiltAndAClassifierBreakingItsContractIsNamed() {
        ReclaimStages.Builder missing = ReclaimStages.builder();
        missing.stage("evictable", Placement.EVICTABLE);
        assertThatThrownBy(() -> missing.build((o, p) -> null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no stage refines");
        ReclaimStages.Builder twice = ReclaimStages.builder();
        twice.stage("a", Placement.EVICTABLE);
        assertThatThrownBy(() -> twice.stage("a", Placement.PURGEABLE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("two stages named a");
        assertThatThrownBy(() -> ReclaimStages.builder().stage("p", Placement.PINNED, ReclaimStage.Option.BLOCKING))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reclaim never takes");
        ReclaimStages.Builder unbacked = ReclaimStages.builder();
        for (Placement p : Placement.values()) {
            unbacked.stage(p.name(), p);
        }
        unbacked.stage("NONE-2", Placement.NONE);
        assertThatThrownBy(() -> unbacked.build((o, p) -> null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("objects without pages have one");

        ReclaimStages.Builder wrong = ReclaimStages.builder();
        for (Placement p : Placement.values()) {
            wrong.stage(p.name(), p);
        }
        wrong.stage("EVICTABLE-2", Placement.EVICTABLE);
        ReclaimStage pinned = wrong.stage("PINNED-2", Placement.PINNED);
        device = GemDevice.builder().ramPages(64).reclaimStages(wrong.build((o, p) -> pinned)).build();
        ShmemObject o = device.createObject("o", PAGE);
        assertThatThrownBy(o::getPagesSgt).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("the stage classifier returned PINNED-2 for o whose placement is EVICTABLE");
    }

    private static void await(CountDownLatch l) {
        try {
            if (!l.await(LONG, TimeUnit.SECONDS)) {
                throw new AssertionError("gate not opened");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
