package dev.gemshrink.panfrost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Shared helpers of the driver tests: invariant assertions, errno assertions, GPU jobs that read or write BOs. */
final class PanfrostTesting {
    static final int PAGE = 4096;
    static final long SZ_2M = 2L << 20;
    static final long SZ_4G = 1L << 32;

    private PanfrostTesting() {
    }

    /** Asserts that the driver's and the core's invariants all hold. */
    static void assertClean(PanfrostDevice dev) {
        assertThat(dev.check()).as("invariant violations of %s", dev.gem().pool()).isEmpty();
    }

    /** Asserts that the device holds nothing: no BO, no object, no RAM, no swap, and the checker is clean. */
    static void assertEmpty(PanfrostDevice dev) {
        assertClean(dev);
        assertThat(dev.bos()).as("live BOs").isEmpty();
        assertThat(dev.gem().objects()).as("objects left").isEmpty();
        assertThat(dev.gem().pool().usedPages()).as("pool pages in use").isZero();
        assertThat(dev.gem().swap().usedPages()).as("swap pages in use").isZero();
    }

    /** Asserts that a call fails with a {@link GemException} of the given errno. */
    static void assertErrno(Errno errno, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(GemException.class)
                .satisfies(e -> assertThat(((GemException) e).errno()).as("errno of %s", e).isEqualTo(errno));
    }

    /** Waits (bounded) for a job and returns it. */
    static Job await(Job job) {
        try {
            assertThat(job.await(5, TimeUnit.SECONDS)).as("%s finished in time", job).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for " + job, e);
        }
        return job;
    }

    /** Runs a job (not held) and waits for it. */
    static Job run(PanfrostClient c, List<PanfrostBo> bos, GpuWork work) {
        return await(c.submit("job", bos, work, false));
    }

    /** Writes {@code data} at offset 0 of a BO through a GPU job of client {@code c}, which must finish DONE. */
    static void gpuWrite(PanfrostClient c, PanfrostBo bo, byte[] data) {
        long va = c.mapping(bo).va();
        Job j = run(c, List.of(bo), ctx -> ctx.write(va, data));
        assertThat(j.status()).as("write job %s", j.error()).isEqualTo(Job.Status.DONE);
    }

    /** Reads the whole BO through a GPU job of client {@code c}, which must finish DONE. */
    static byte[] gpuRead(PanfrostClient c, PanfrostBo bo) {
        long va = c.mapping(bo).va();
        byte[] out = new byte[(int) bo.size()];
        Job j = run(c, List.of(bo), ctx -> ctx.read(va, out));
        assertThat(j.status()).as("read job %s", j.error()).isEqualTo(Job.Status.DONE);
        return out;
    }

    /** A deterministic byte pattern: byte i of pattern {@code seed}; seed 0 is all zeros. */
    static byte patternByte(long seed, long i) {
        if (seed == 0) {
            return 0;
        }
        long x = seed * 0x9E3779B97F4A7C15L ^ (i * 0xBF58476D1CE4E5B9L);
        x ^= x >>> 31;
        x *= 0x94D049BB133111EBL;
        x ^= x >>> 29;
        return (byte) x;
    }

    /** Fills an array with pattern {@code seed}. */
    static byte[] pattern(long seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = patternByte(seed, i);
        }
        return b;
    }

    /** Returns the index of the first byte that differs from pattern {@code seed}, or -1. */
    static int firstMismatch(long seed, byte[] got) {
        for (int i = 0; i < got.length; i++) {
            if (got[i] != patternByte(seed, i)) {
                return i;
            }
        }
        return -1;
    }

    /** Returns the frames a BO holds now (populated entries of its page array). */
    static List<Integer> frames(PanfrostBo bo) {
        int[] pfns = bo.shmem().inspect().pfns();
        List<Integer> out = new ArrayList<>();
        if (pfns != null) {
            for (int p : pfns) {
                if (p >= 0) {
                    out.add(p);
                }
            }
        }
        return out;
    }
}
