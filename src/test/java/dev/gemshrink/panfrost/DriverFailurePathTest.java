package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_2M;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.assertErrno;
import static dev.gemshrink.panfrost.PanfrostTesting.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.ResvLock;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.ThreadStates;
import dev.gemshrink.testing.ThrowingReclaimHook;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The driver's multi-step operations leave consistent state on any throwable, not only on a {@link GemException}:
 * an Error out of a page allocation (injected with {@link ThrowingReclaimHook}) while opening a BO or growing a heap
 * leaves no VA, reference or page use behind. And a heap fault acts only on a mapping that is still live when it
 * holds the BO's lock, not on one that was released after the page table walk found it.
 */
@ExtendWith(GpuFaultsLogged.class)
@Timeout(60)
class DriverFailurePathTest {
    private static final int NOEXEC = BoFlags.NOEXEC;
    private static final int HEAP = BoFlags.HEAP | BoFlags.NOEXEC;

    @Test
    @SuppressWarnings("deprecation") // setReclaimHook: the failing hook replaces the device's own
    void anErrorWhileMakingANewBoResidentLeavesNoVaReferenceOrBo() {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("fail").ramPages(16).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo full = c.createBo("fills-ram", 16 * PAGE, NOEXEC);
            dev.gem().pool().setReclaimHook(ThrowingReclaimHook.error(() -> new OutOfMemoryError("injected")));
            assertThatThrownBy(() -> c.createBo("no-room", PAGE, NOEXEC)).isInstanceOf(OutOfMemoryError.class);
            assertThat(dev.bos()).containsExactly(full);
            assertThat(c.bos()).containsExactly(full);
            assertThat(c.addressSpace().mappings()).containsExactly(c.mapping(full));
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    @SuppressWarnings("deprecation") // setReclaimHook: the failing hook replaces the device's own
    void anErrorWhileOpeningAnEvictedBoElsewhereLeavesNoVaOrReferenceAndTheSlotFree() {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("fail").ramPages(16)
                .swap(SwapStore.inMemory(64)).build()) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo bo = a.createBo("bo", 8 * PAGE, NOEXEC);
            bo.evict();
            PanfrostBo filler = a.createBo("filler", 12 * PAGE, NOEXEC);
            ThrowingReclaimHook hook = ThrowingReclaimHook.error(() -> new AssertionError("injected"));
            dev.gem().pool().setReclaimHook(hook);
            assertThatThrownBy(() -> b.open(bo)).isInstanceOf(AssertionError.class);
            assertThat(hook.calls()).isPositive();
            assertThat(b.bos()).isEmpty();
            assertThat(b.addressSpace().mappings()).isEmpty();
            assertThat(bo.refs()).isEqualTo(1);
            assertThat(bo.shmem().isEvicted()).isTrue();
            assertClean(dev);
            a.close(filler);
            assertThat(b.open(bo)).as("the handle slot is free again").isNotNull();
            assertClean(dev);
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }

    @Test
    @SuppressWarnings("deprecation") // setReclaimHook: the failing hook replaces the device's own
    void anErrorOnTheFirstHeapFaultLeavesNoChunkTableOrPageUse() {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("fail").ramPages(520).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo heap = c.createBo("heap", 2 * SZ_2M, HEAP);
            c.createBo("filler", 16 * PAGE, NOEXEC); // 504 pages left: a chunk does not fit
            dev.gem().pool().setReclaimHook(ThrowingReclaimHook.error(StackOverflowError::new));
            assertThatThrownBy(() -> c.fault(heap, 0)).isInstanceOf(StackOverflowError.class);
            assertThat(heap.heapChunks()).isZero();
            assertThat(heap.shmem().pagesUseCount()).as("no page use left behind").isZero();
            assertThat(heap.shmem().inspect().pfns()).as("no sparse page array").isNull();
            assertClean(dev);

            // The same inside a job: the job faults alone, with the Error as the cause.
            long va = c.mapping(heap).va();
            Job j = await(c.submit("grow", List.of(heap), ctx -> ctx.write(va, new byte[1]), false));
            assertThat(j.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(j.error().get().getCause()).isInstanceOf(StackOverflowError.class);
            assertThat(heap.shmem().pagesUseCount()).isZero();
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    /**
     * A job touches a heap BO it did not declare; its page table walk finds the mapping, then the heap fault waits
     * for the BO's lock while the client closes that handle (the BO lives on in another client). The fault must
     * not grow the heap for a mapping that is gone: it fails (the job faults) and populates nothing.
     */
    @Test
    void aHeapFaultThroughAMappingReleasedMeanwhilePopulatesNothing() throws Exception {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("fail").ramPages(1024).build()) {
            PanfrostClient owner = dev.openClient("owner");
            PanfrostClient c = dev.openClient("c");
            PanfrostBo heap = owner.createBo("heap", SZ_2M, HEAP);
            c.open(heap);
            long va = c.mapping(heap).va();
            ResvLock lock = heap.shmem().resv();
            AtomicReference<Thread> gpu = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Job j;
            lock.lock();
            try {
                j = c.submit("undeclared", List.of(), ctx -> {
                    gpu.set(Thread.currentThread());
                    started.countDown();
                    ctx.write(va, new byte[] {1});
                }, false);
                assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
                ThreadStates.awaitParkedIn(gpu.get(), ResvLock.class, 10, TimeUnit.SECONDS);
                c.close(heap);
            } finally {
                lock.unlock();
            }
            await(j);
            assertThat(j.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(heap.heapChunks()).as("no chunk for a released mapping").isZero();
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertClean(dev);
            assertErrno(Errno.ENOENT, () -> c.fault(heap, 0));
            owner.close();
            c.close();
            assertEmpty(dev);
        }
    }

    /** The heap-fault callback refuses a released mapping with ENOENT, before it allocates anything. */
    @Test
    void theHeapFaultCallbackRefusesAReleasedMapping() {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("fail").ramPages(1024).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo heap = c.createBo("heap", SZ_2M, HEAP);
            GpuMapping m = c.mapping(heap);
            PanfrostClient other = dev.openClient("other");
            other.open(heap);
            c.close(heap);
            assertThatThrownBy(() -> heap.heapFault(m, m.va())).isInstanceOf(GemException.class)
                    .satisfies(e -> assertThat(((GemException) e).errno()).isEqualTo(Errno.ENOENT));
            assertThat(heap.heapChunks()).isZero();
            other.close();
            c.close();
            assertEmpty(dev);
        }
    }
}
