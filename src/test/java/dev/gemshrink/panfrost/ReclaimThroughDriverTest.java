package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertErrno;
import static dev.gemshrink.panfrost.PanfrostTesting.await;
import static dev.gemshrink.panfrost.PanfrostTesting.gpuRead;
import static dev.gemshrink.panfrost.PanfrostTesting.gpuWrite;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.FaultySwapStore;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reclaim of a driver BO always passes the driver's policy: the core object's own {@code evict()}/{@code purge()}
 * go through the BO's evictor (busy check, PTE teardown), and an eviction whose swap write fails leaves every GPU
 * mapping in place (the step that can fail comes first).
 */
class ReclaimThroughDriverTest {

    @Test
    void evictingTheCoreObjectOfABusyBoIsRefusedAndItsMappingsStay() {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("policy").ramPages(64)
                .swap(SwapStore.inMemory(64)).build()) {
            PanfrostClient a = dev.openClient("a");
            PanfrostBo bo = a.createBo("busy", 4L * PAGE, 0);
            Job running = a.submit("held", List.of(bo), GpuWork.NONE, true); // busy until completed
            int[] ptesBefore = a.mapping(bo).ptes();
            assertErrno(Errno.EBUSY, () -> bo.shmem().evict());
            assertErrno(Errno.EBUSY, bo::evict);
            assertThat(bo.isResident()).isTrue();
            assertThat(a.mapping(bo).ptes()).containsExactly(ptesBefore);
            assertClean(dev);
            running.complete();
            await(running);
            assertThat(bo.shmem().evict()).as("idle now: evicted through the driver").isEqualTo(4);
            assertThat(a.mapping(bo).ptes()).as("the driver tore the PTEs down").containsOnly(-1);
            assertClean(dev);
        }
    }

    @Test
    void aFailedSwapWriteLeavesTheBoMappedInEveryClient() {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(64));
        try (PanfrostDevice dev = PanfrostDevice.builder().name("swap-fails").ramPages(64).swap(swap).build()) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo bo = a.createBo("shared", 2L * PAGE, 0);
            b.open(bo);
            byte[] data = new byte[2 * PAGE];
            Arrays.fill(data, (byte) 0x3c);
            gpuWrite(a, bo, data);
            int[] inA = a.mapping(bo).ptes();
            int[] inB = b.mapping(bo).ptes();
            swap.failStores(true);
            assertErrno(Errno.ENOMEM, bo::evict);
            assertThat(bo.isResident()).isTrue();
            assertThat(a.mapping(bo).ptes()).as("a's PTEs").containsExactly(inA).doesNotContain(-1);
            assertThat(b.mapping(bo).ptes()).as("b's PTEs").containsExactly(inB);
            assertThat(gpuRead(b, bo)).containsExactly(data);
            assertClean(dev);
            swap.failStores(false);
            bo.evict();
            assertThat(gpuRead(b, bo)).as("swapped back in on submit").containsExactly(data);
            assertClean(dev);
        }
    }
}
