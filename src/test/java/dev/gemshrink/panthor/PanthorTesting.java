package dev.gemshrink.panthor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** What the Panthor driver's tests share: invariant assertions, errno checks, job waits and test bytes. */
final class PanthorTesting {
    static final int PAGE = PagePool.PAGE_SIZE;

    private PanthorTesting() {
    }

    /** A device with {@code ramPages} of RAM and an in-memory swap store of {@code swapPages} (0: no swap). */
    static PanthorDevice device(int ramPages, int swapPages) {
        PanthorDevice.Builder b = PanthorDevice.builder().ramPages(ramPages);
        return (swapPages > 0 ? b.swap(SwapStore.inMemory(swapPages)) : b).build();
    }

    /** Asserts the core's and the driver's invariants. */
    static void assertClean(PanthorDevice dev) {
        assertThat(dev.check()).as("invariant violations (core and driver)").isEmpty();
    }

    /** Asserts that a call fails with a GemException of the given errno. */
    static void assertErrno(Errno errno, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(GemException.class)
                .satisfies(e -> assertThat(((GemException) e).errno()).as("errno of %s", e).isEqualTo(errno));
    }

    /** Waits (bounded) for a job and returns it. */
    static PanthorJob await(PanthorJob job) throws InterruptedException {
        assertThat(job.await(10, TimeUnit.SECONDS)).as("%s finished in time", job).isTrue();
        return job;
    }

    /** Seeded test bytes, different per seed. */
    static byte[] bytes(long seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Runs a job that reads {@code length} bytes at {@code va} of its VM and returns them (the job must be DONE). */
    static byte[] gpuRead(PanthorVm vm, long va, int length) throws InterruptedException {
        byte[] out = new byte[length];
        PanthorJob j = await(vm.submit("read", ctx -> ctx.read(va, out)));
        assertThat(j.status()).as("%s: %s", j, j.error()).isEqualTo(PanthorJob.Status.DONE);
        return out;
    }
}
