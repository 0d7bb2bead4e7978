package dev.gemshrink.panthor;

import static dev.gemshrink.panthor.PanthorTesting.PAGE;
import static dev.gemshrink.panthor.PanthorTesting.assertClean;
import static dev.gemshrink.panthor.PanthorTesting.assertErrno;
import static dev.gemshrink.panthor.PanthorTesting.await;
import static dev.gemshrink.panthor.PanthorTesting.bytes;
import static dev.gemshrink.panthor.PanthorTesting.device;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Pin;
import dev.gemshrink.core.ReclaimStage;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import dev.gemshrink.testing.FaultySwapStore;
import dev.gemshrink.testing.ThreadStates;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Panthor driver's reclaim stages: a BO's stage follows its facts (bindings, CPU mappings, pages, pins); a scan
 * takes unused BOs, then CPU-mapped ones, then (only when the context may block) BOs private to a VM, VMs least
 * recently used first, then shared ones; active reclaim waits for a busy BO's jobs with a bound; a BO that became
 * costlier during a scan is left for its own stage. Every race is gated with latches, never slept on.
 */
@Timeout(60)
class PanthorStagesTest {
    private static final long VA = 1L << 32;
    private static final long LONG = 30; // seconds: a wait that must not run out

    private static ReclaimStage stage(GemDevice gem, String name) {
        return gem.reclaimStages().stage(name);
    }

    private static String stageOf(PanthorBo bo) {
        ReclaimStage s = bo.shmem().device().stageOf(bo.shmem());
        return s == null ? null : s.name();
    }

    /** Binds a BO in {@code vm} and unbinds it again: it keeps its pages, bound nowhere. */
    private static void touchPages(PanthorVm vm, PanthorBo bo) {
        vm.bind(bo, 0, bo.size(), VA);
        vm.unbind(VA, bo.size());
    }

    private static long scan(PanthorDevice dev, long pages, boolean canBlock) {
        return dev.gem().shrinker().shrinker().scan(new ShrinkControl(pages, canBlock, true));
    }

    /** Starts a thread that scans once and stores what the scan returned in {@code freed}. */
    private static Thread startScan(PanthorDevice dev, long pages, boolean canBlock, AtomicLong freed) {
        Thread t = new Thread(() -> freed.set(scan(dev, pages, canBlock)), "scanner");
        t.start();
        return t;
    }

    /**
     * Holds the next swap reads ({@code loads}) or writes of {@code swap} until {@code go} opens, then lets them
     * through; the latch returned opens when one is held.
     */
    private static CountDownLatch holdSwap(FaultySwapStore swap, boolean loads, CountDownLatch go) {
        CountDownLatch held = new CountDownLatch(1);
        Supplier<Throwable> hold = () -> {
            held.countDown();
            PanthorBindTest.awaitGate(go);
            return null;
        };
        if (loads) {
            swap.failLoadsWith(hold);
        } else {
            swap.failStoresWith(hold);
        }
        return held;
    }

    private static PanthorDevice deviceWaiting(Duration fenceWait, SwapStore swap) {
        return PanthorDevice.builder().ramPages(256).swap(swap).fenceWait(fenceWait).build();
    }

    @Test
    void theStagesAreUnusedMmappedPrivatePerVmAndSharedWaitingForIdleThenTheUnreclaimableOnes() {
        try (PanthorDevice dev = device(64, 64)) {
            List<ReclaimStage> st = dev.gem().reclaimStages().stages();
            assertThat(st).extracting(ReclaimStage::name).containsExactly("unused", "mmapped", "private", "shared",
                    "purgeable", "evicted-purgeable", "evicted", "unreclaimable", "unbacked");
            assertThat(st).filteredOn(ReclaimStage::blocking).extracting(ReclaimStage::name)
                    .containsExactly("private", "shared");
            assertThat(st).filteredOn(ReclaimStage::waitsForIdle).extracting(ReclaimStage::name)
                    .containsExactly("private", "shared");
            assertThat(st).filteredOn(ReclaimStage::perDomain).extracting(ReclaimStage::name)
                    .containsExactly("private");
        }
    }

    @Test
    void theStageOfABoFollowsItsBindingsMappingsPagesAndPins() {
        try (PanthorDevice dev = device(256, 256)) {
            GemDevice gem = dev.gem();
            PanthorClient c = dev.openClient("c");
            PanthorVm a = c.createVm("a");
            PanthorVm b = c.createVm("b");
            PanthorBo bo = c.createBo("bo", 2 * PAGE, 0, null);
            assertThat(stageOf(bo)).as("no pages yet").isEqualTo("unbacked");

            VmBinding inA = a.bind(bo, 0, 2 * PAGE, VA);
            assertThat(stageOf(bo)).isEqualTo("private");
            assertThat(bo.shmem().home()).as("a shareable BO's home is the device").isSameAs(gem.domain());
            assertThat(gem.domain().pages(stage(gem, "private"))).isEqualTo(2);
            assertClean(dev);
            b.bind(bo, 0, 2 * PAGE, VA);
            assertThat(stageOf(bo)).isEqualTo("shared");
            a.bind(bo, 0, PAGE, VA + 4 * PAGE);
            assertThat(stageOf(bo)).as("two ranges in b and one in a: still two VMs").isEqualTo("shared");
            b.unbind(VA, 2 * PAGE);
            assertThat(stageOf(bo)).as("two ranges in one VM").isEqualTo("private");
            assertClean(dev);

            try (CpuMapping m = bo.mmap()) {
                assertThat(stageOf(bo)).as("a binding outweighs a CPU mapping").isEqualTo("private");
                a.unbind(inA.va(), 2 * PAGE);
                a.unbind(VA + 4 * PAGE, PAGE);
                assertThat(stageOf(bo)).isEqualTo("mmapped");
                assertThat(bo.refs()).as("the handle's and the mapping's").isEqualTo(2);
                assertClean(dev);
                assertThat(m.isOpen()).isTrue();
            }
            assertThat(stageOf(bo)).isEqualTo("unused");
            assertClean(dev);

            Pin pin = bo.shmem().pin();
            assertThat(stageOf(bo)).isEqualTo("unreclaimable");
            pin.close();
            assertThat(stageOf(bo)).isEqualTo("unused");
            assertThat(bo.reclaim()).isEqualTo(2);
            assertThat(stageOf(bo)).isEqualTo("evicted");
            assertClean(dev);

            PanthorBo priv = c.createBo("priv", 3 * PAGE, 0, a);
            assertThat(priv.shmem().home()).isSameAs(a.reclaimDomain());
            a.bind(priv, 0, 3 * PAGE, VA);
            assertThat(stageOf(priv)).isEqualTo("private");
            assertThat(a.reclaimDomain().pages(stage(gem, "private"))).as("on its VM's own list").isEqualTo(3);
            assertThat(gem.domain().pages(stage(gem, "private"))).isZero();
            assertThat(gem.domainsInLruOrder()).containsExactly(a.reclaimDomain());
            a.unbind(VA, 3 * PAGE);
            assertThat(stageOf(priv)).as("unbound, it is unused, on the device's list").isEqualTo("unused");
            assertThat(gem.domainsInLruOrder()).isEmpty();
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aScanTakesUnusedThenMmappedThenOnlyWhenItMayBlockPrivateVmsInLruOrderThenShared() throws Exception {
        try (PanthorDevice dev = device(256, 256)) {
            GemDevice gem = dev.gem();
            PanthorClient c = dev.openClient("c");
            PanthorVm a = c.createVm("a");
            PanthorVm b = c.createVm("b");
            PanthorBo mapped = c.createBo("mapped", PAGE, 0, null);
            PanthorBo unused = c.createBo("unused", PAGE, 0, null);
            PanthorBo inA = c.createBo("in-a", PAGE, 0, a);
            PanthorBo inB = c.createBo("in-b", PAGE, 0, b);
            PanthorBo shared = c.createBo("shared", PAGE, 0, null);
            CpuMapping m = mapped.mmap();
            byte[] data = bytes(1, PAGE);
            m.write(0, data); // faults it in: resident, kept
            touchPages(a, unused); // used after the mapped BO, but its stage is cheaper
            a.bind(inA, 0, PAGE, VA);
            b.bind(inB, 0, PAGE, VA);
            a.bind(shared, 0, PAGE, VA + PAGE);
            b.bind(shared, 0, PAGE, VA + PAGE);
            assertThat(gem.domainsInLruOrder()).containsExactly(a.reclaimDomain(), b.reclaimDomain());
            await(a.submit("use-a", ctx -> { })); // a was used last
            assertThat(gem.domainsInLruOrder()).containsExactly(b.reclaimDomain(), a.reclaimDomain());
            assertClean(dev);

            Shrinker s = gem.shrinker().shrinker();
            assertThat(s.count(new ShrinkControl(0, false, true))).as("unused and mmapped only").isEqualTo(2);
            assertThat(gem.shrinker().count()).as("every stage when it may block").isEqualTo(5);

            assertThat(scan(dev, 1, false)).isEqualTo(1);
            assertThat(unused.isEvicted()).as("the unused BO first").isTrue();
            assertThat(scan(dev, 1, false)).isEqualTo(1);
            assertThat(mapped.isEvicted()).as("then the CPU-mapped one").isTrue();
            assertThat(scan(dev, 1, false)).as("the rest needs a context that may block").isZero();
            assertThat(List.of(inA, inB, shared)).allSatisfy(bo -> assertThat(bo.isResident()).isTrue());
            assertClean(dev);

            assertThat(scan(dev, 1, true)).isEqualTo(1);
            assertThat(inB.isEvicted()).as("the least recently used VM's BO").isTrue();
            assertClean(dev);
            assertThat(scan(dev, 1, true)).isEqualTo(1);
            assertThat(inA.isEvicted()).isTrue();
            assertThat(gem.domainsInLruOrder()).as("emptied VMs leave the domain LRU").isEmpty();
            assertThat(shared.isResident()).as("shared last").isTrue();
            assertThat(scan(dev, 1, true)).isEqualTo(1);
            assertThat(shared.isEvicted()).isTrue();
            assertClean(dev);

            byte[] back = new byte[PAGE];
            m.read(0, back);
            assertThat(back).as("the mapping faults the evicted BO back in").isEqualTo(data);
            assertThat(stageOf(mapped)).isEqualTo("mmapped");
            m.close();
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aBindOrSubmitShortOfMemoryReclaimsBosBoundInOtherVmsThroughItsOwnAllocation() throws Exception {
        try (PanthorDevice dev = device(16, 64)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm a = c.createVm("a");
            PanthorVm b = c.createVm("b");
            PanthorBo first = c.createBo("first", 10 * PAGE, 0, a);
            PanthorBo second = c.createBo("second", 10 * PAGE, 0, b);
            a.bind(first, 0, 10 * PAGE, VA);
            byte[] data = bytes(6, 10 * PAGE);
            first.write(0, data);

            b.bind(second, 0, 10 * PAGE, VA);
            assertThat(first.isEvicted()).as("the bind's allocation evicted a private BO of an idle VM").isTrue();
            assertThat(stageOf(second)).isEqualTo("private");
            assertClean(dev);
            assertThat(PanthorTesting.gpuRead(a, VA, 10 * PAGE)).as("the submit's validation evicted the other in turn").isEqualTo(data);
            assertThat(second.isEvicted()).isTrue();
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    @Timeout(20) // less than the fence wait: a scan that waited would fail here
    void aScanThatCannotBlockNeitherReclaimsPrivateOrSharedBosNorWaitsForTheirJobs() throws Exception {
        try (PanthorDevice dev = deviceWaiting(Duration.ofSeconds(LONG), SwapStore.inMemory(256))) {
            PanthorClient c = dev.openClient("c");
            PanthorVm a = c.createVm("a");
            PanthorVm b = c.createVm("b");
            PanthorBo priv = c.createBo("priv", PAGE, 0, a);
            PanthorBo shared = c.createBo("shared", PAGE, 0, null);
            a.bind(priv, 0, PAGE, VA);
            a.bind(shared, 0, PAGE, VA + PAGE);
            b.bind(shared, 0, PAGE, VA);
            CountDownLatch gate = new CountDownLatch(1);
            PanthorJob job = a.submit("held", ctx -> PanthorBindTest.awaitGate(gate));

            AtomicLong freed = new AtomicLong(-1);
            Thread scanner = startScan(dev, 2, false, freed);
            assertThat(ThreadStates.awaitEndedOrParkedIn(scanner, PanthorJob.class, LONG, TimeUnit.SECONDS))
                    .as("the scan returned without waiting for the job").isTrue();
            assertThat(freed.get()).isZero();
            assertThat(priv.isResident()).isTrue();
            assertThat(shared.isResident()).isTrue();
            assertThat(job.status()).isEqualTo(PanthorJob.Status.QUEUED);
            assertClean(dev);
            gate.countDown();
            await(job);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aBusyPrivateBoIsEvictedOnceItsJobIsDoneWithNoDriverLockHeldWhileWaiting() throws Exception {
        try (PanthorDevice dev = deviceWaiting(Duration.ofSeconds(LONG), SwapStore.inMemory(256))) {
            PanthorClient c = dev.openClient("c");
            PanthorVm a = c.createVm("a");
            PanthorBo priv = c.createBo("priv", 2 * PAGE, 0, a);
            a.bind(priv, 0, 2 * PAGE, VA);
            byte[] data = bytes(2, 2 * PAGE);
            priv.write(0, data);
            CountDownLatch gate = new CountDownLatch(1);
            byte[] seen = new byte[2 * PAGE];
            // The job reads its BO after the gate: it needs the VM's lock, which the waiting scan must not hold.
            PanthorJob job = a.submit("held", ctx -> {
                PanthorBindTest.awaitGate(gate);
                ctx.read(VA, seen);
            });

            AtomicLong freed = new AtomicLong(-1);
            Thread scanner = startScan(dev, 2, true, freed);
            ThreadStates.awaitParkedIn(scanner, PanthorJob.class, LONG, TimeUnit.SECONDS);
            assertThat(priv.isResident()).as("not while its job runs").isTrue();
            assertThat(priv.shmem().resv().isLocked()).as("no lock held while waiting").isFalse();
            gate.countDown();
            scanner.join(TimeUnit.SECONDS.toMillis(LONG));

            assertThat(await(job).status()).isEqualTo(PanthorJob.Status.DONE);
            assertThat(seen).isEqualTo(data);
            assertThat(freed.get()).isEqualTo(2);
            assertThat(priv.isEvicted()).isTrue();
            assertClean(dev);
            assertThat(PanthorTesting.gpuRead(a, VA, 2 * PAGE)).isEqualTo(data);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aBusySharedBoWhoseJobOutlastsTheFenceWaitIsSkipped() throws Exception {
        try (PanthorDevice dev = deviceWaiting(Duration.ofMillis(1), SwapStore.inMemory(256))) {
            PanthorClient c = dev.openClient("c");
            PanthorVm a = c.createVm("a");
            PanthorVm b = c.createVm("b");
            PanthorBo shared = c.createBo("shared", PAGE, 0, null);
            a.bind(shared, 0, PAGE, VA);
            b.bind(shared, 0, PAGE, VA);
            CountDownLatch gate = new CountDownLatch(1);
            PanthorJob job = b.submit("held", ctx -> PanthorBindTest.awaitGate(gate));

            ShrinkControl sc = new ShrinkControl(1, true, true);
            assertThat(dev.gem().shrinker().shrinker().scan(sc)).as("nothing freed").isZero();
            assertThat(sc.nrSkippedLocked()).as("skipped: busy longer than the wait").isEqualTo(1);
            assertThat(shared.isResident()).isTrue();
            assertClean(dev);

            gate.countDown();
            await(job);
            assertThat(scan(dev, 1, true)).as("idle now").isEqualTo(1);
            assertThat(shared.isEvicted()).isTrue();
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aBoWhoseVmIsBeingValidatedIsSkippedWithoutWaitingForTheJobNotYetQueued() throws Exception {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(256));
        try (PanthorDevice dev = deviceWaiting(Duration.ofSeconds(LONG), swap)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo evicted = c.createBo("evicted", PAGE, 0, vm);
            PanthorBo resident = c.createBo("resident", PAGE, 0, vm);
            vm.bind(evicted, 0, PAGE, VA);
            vm.bind(resident, 0, PAGE, VA + PAGE);
            assertThat(evicted.reclaim()).isEqualTo(1);
            CountDownLatch go = new CountDownLatch(1);
            CountDownLatch loading = holdSwap(swap, true, go);
            PanthorJob[] submitted = new PanthorJob[1];
            Thread submitter = new Thread(() -> submitted[0] = vm.submit("job", ctx -> { }), "submitter");
            submitter.start();
            assertThat(loading.await(LONG, TimeUnit.SECONDS)).as("the submit is validating the VM").isTrue();
            assertThat(vm.isBusy()).isTrue();

            AtomicLong freed = new AtomicLong(-1);
            Thread scanner = startScan(dev, 1, true, freed);
            assertThat(ThreadStates.awaitEndedOrParkedIn(scanner, PanthorJob.class, LONG, TimeUnit.SECONDS))
                    .as("no wait for a job that is still being submitted").isTrue();
            assertThat(freed.get()).isZero();
            assertThat(resident.isResident()).isTrue();
            go.countDown();
            submitter.join(TimeUnit.SECONDS.toMillis(LONG));
            swap.heal();
            assertThat(await(submitted[0]).status()).isEqualTo(PanthorJob.Status.DONE);
            assertThat(evicted.isResident()).isTrue();
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aBoThatBecameCostlierDuringTheScanIsSkippedAndLeftForItsOwnStage() throws Exception {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(256));
        try (PanthorDevice dev = deviceWaiting(Duration.ofSeconds(LONG), swap)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo first = c.createBo("first", PAGE, 0, null);
            PanthorBo second = c.createBo("second", PAGE, 0, null);
            touchPages(vm, first);
            touchPages(vm, second);
            assertThat(stageOf(first)).isEqualTo("unused");
            assertThat(stageOf(second)).isEqualTo("unused");
            CountDownLatch go = new CountDownLatch(1);
            CountDownLatch storing = holdSwap(swap, false, go);

            AtomicLong freed = new AtomicLong(-1);
            Thread scanner = startScan(dev, 2, false, freed);
            assertThat(storing.await(LONG, TimeUnit.SECONDS)).as("the scan is evicting the first").isTrue();
            vm.bind(second, 0, PAGE, VA); // bound meanwhile: private, costlier than the stage being scanned
            go.countDown();
            scanner.join(TimeUnit.SECONDS.toMillis(LONG));
            swap.heal();

            assertThat(freed.get()).isEqualTo(1);
            assertThat(first.isEvicted()).isTrue();
            assertThat(second.isResident()).as("skipped: the scan cannot block").isTrue();
            assertThat(stageOf(second)).isEqualTo("private");
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aCpuMappingDoesNotPinHoldsItsReferenceAndRefusesBadAccessesWithoutChangingAnything() {
        try (PanthorDevice dev = device(256, 256)) {
            PanthorClient c = dev.openClient("c");
            PanthorBo bo = c.createBo("bo", 2 * PAGE, 0, null);
            PanthorBo scratch = c.createBo("scratch", PAGE, PanthorBo.DISCARD_ON_RECLAIM, null);
            CpuMapping m = bo.mmap();
            assertThat(stageOf(bo)).as("mapped but never touched: no pages").isEqualTo("unbacked");
            byte[] data = bytes(3, 2 * PAGE);
            m.write(0, data);
            assertThat(stageOf(bo)).isEqualTo("mmapped");
            assertThat(bo.reclaim()).as("a CPU mapping does not pin").isEqualTo(2);
            assertThat(bo.isEvicted()).isTrue();
            assertClean(dev);

            assertErrno(Errno.EINVAL, () -> m.read(PAGE, new byte[PAGE + 1]));
            assertThat(bo.isEvicted()).as("a bad range faults nothing in").isTrue();
            byte[] back = new byte[2 * PAGE];
            m.read(0, back);
            assertThat(back).isEqualTo(data);
            assertThat(bo.isResident()).isTrue();

            try (CpuMapping s = scratch.mmap()) {
                s.write(0, bytes(4, PAGE));
                assertThat(scratch.reclaim()).isEqualTo(1);
                byte[] zeros = bytes(5, PAGE);
                s.read(0, zeros);
                assertThat(zeros).as("a discarded BO faults back in as zeros").isEqualTo(new byte[PAGE]);
                assertThat(scratch.discards()).isEqualTo(1);
            }

            c.closeBo(bo);
            assertThat(bo.isFreed()).as("the mapping holds a reference").isFalse();
            assertClean(dev);
            m.close();
            m.close(); // closing twice is harmless
            assertThat(bo.isFreed()).isTrue();
            assertThat(m.isOpen()).isFalse();
            assertErrno(Errno.EFAULT, () -> m.write(0, new byte[1]));
            assertErrno(Errno.ENOENT, bo::mmap);
            c.close();
            assertClean(dev);
        }
    }
}
