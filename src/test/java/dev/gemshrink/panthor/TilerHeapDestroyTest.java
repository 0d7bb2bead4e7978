package dev.gemshrink.panthor;

import static dev.gemshrink.panthor.PanthorTesting.PAGE;
import static dev.gemshrink.panthor.PanthorTesting.assertClean;
import static dev.gemshrink.panthor.PanthorTesting.assertErrno;
import static dev.gemshrink.panthor.PanthorTesting.await;
import static dev.gemshrink.panthor.PanthorTesting.device;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link PanthorVm#destroyTilerHeap}: frees the chunks of an idle VM's heap; refused while a job is in flight. */
@Timeout(60)
class TilerHeapDestroyTest {
    @Test
    void destroyingAHeapFreesItsChunksAndOnlyWhenTheVmIsIdle() throws Exception {
        try (PanthorDevice dev = device(256, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorVm other = c.createVm("other");
            TilerHeap heap = vm.createTilerHeap("tiler", 16 * PAGE, 4);
            await(vm.submit("grow", ctx -> {
                ctx.growHeap(heap);
                ctx.growHeap(heap);
            }));
            assertThat(dev.gem().pool().usedPages()).isEqualTo(32);

            CountDownLatch release = new CountDownLatch(1);
            PanthorJob held = vm.submit("held", ctx -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertErrno(Errno.EBUSY, () -> vm.destroyTilerHeap(heap));
            assertThat(vm.heaps()).containsExactly(heap);
            assertThat(heap.chunks()).isEqualTo(2);
            release.countDown();
            await(held);

            assertErrno(Errno.EINVAL, () -> other.destroyTilerHeap(heap));
            vm.destroyTilerHeap(heap);
            assertThat(vm.heaps()).isEmpty();
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertErrno(Errno.EINVAL, () -> vm.destroyTilerHeap(heap));
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }
}
