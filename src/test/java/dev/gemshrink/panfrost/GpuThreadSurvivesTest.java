package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A job whose work throws anything faults alone: the only GPU thread keeps serving every client. */
@ExtendWith(GpuFaultsLogged.class)
class GpuThreadSurvivesTest {

    static Stream<Supplier<Throwable>> throwables() {
        return Stream.of(() -> new AssertionError("injected"), () -> new StackOverflowError("injected"),
                () -> new OutOfMemoryError("injected"), () -> new IllegalStateException("injected"));
    }

    @ParameterizedTest
    @MethodSource("throwables")
    void aJobThrowingFaultsAloneAndTheNextJobsRun(Supplier<Throwable> thrown) {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("gpu").ramPages(64).build()) {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo bo = a.createBo("bo", 2L * PAGE, 0);
            PanfrostBo other = b.createBo("other", PAGE, 0);
            Job bad = await(a.submit("bad", List.of(bo), ctx -> {
                Throwable t = thrown.get();
                if (t instanceof Error) {
                    throw (Error) t;
                }
                throw (RuntimeException) t;
            }, false));
            assertThat(bad.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(bad.error()).get().satisfies(e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT))
                    .satisfies(e -> assertThat(e.getCause()).hasMessage("injected"));
            assertThat(bo.isBusy()).isFalse();
            for (PanfrostClient c : List.of(a, b)) {
                Job next = await(c.submit("next", List.of(c == a ? bo : other), GpuWork.NONE, false));
                assertThat(next.status()).isEqualTo(Job.Status.DONE);
            }
            a.close();
            b.close();
            assertEmpty(dev);
        }
    }
}
