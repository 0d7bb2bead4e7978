package dev.gemshrink.drivers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import java.util.Random;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** What the shared driver tests share: the page size, errno assertions and seeded test bytes. */
final class DriverTesting {
    static final int PAGE = PagePool.PAGE_SIZE;

    private DriverTesting() {
    }

    /** Asserts that a call fails with a GemException of the given errno. */
    static void assertErrno(Errno errno, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(GemException.class)
                .satisfies(e -> assertThat(((GemException) e).errno()).as("errno of %s", e).isEqualTo(errno));
    }

    /** Seeded test bytes, different per seed. */
    static byte[] bytes(long seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
