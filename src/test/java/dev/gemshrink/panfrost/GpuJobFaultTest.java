package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.await;
import static dev.gemshrink.panfrost.PanfrostTesting.gpuRead;
import static dev.gemshrink.panfrost.PanfrostTesting.gpuWrite;
import static dev.gemshrink.panfrost.PanfrostTesting.pattern;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.testing.GatedGpuWork;
import dev.gemshrink.testing.ThrowingGpuWorks;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A faulting job fails alone, whatever its work throws (a {@link GemException}, any runtime exception, or an
 * {@link Error} such as AssertionError, StackOverflowError or OutOfMemoryError): its fence signals, its references
 * are dropped, and the GPU thread goes on with the next job of every client. Nor can a job stop the GPU thread by
 * leaving its interrupt flag set.
 */
@ExtendWith(GpuFaultsLogged.class)
@Timeout(60)
class GpuJobFaultTest {
    private static final int NOEXEC = BoFlags.NOEXEC;

    static Stream<Arguments> failures() {
        return Stream.of(
                Arguments.of("AssertionError", (Supplier<Throwable>) () -> new AssertionError("injected")),
                Arguments.of("StackOverflowError", (Supplier<Throwable>) StackOverflowError::new),
                Arguments.of("OutOfMemoryError", (Supplier<Throwable>) () -> new OutOfMemoryError("injected")),
                Arguments.of("IllegalStateException",
                        (Supplier<Throwable>) () -> new IllegalStateException("injected")));
    }

    private static ThrowingGpuWorks throwingOnCall(int call, Supplier<Throwable> failure) {
        Throwable sample = failure.get();
        if (sample instanceof Error) {
            return ThrowingGpuWorks.errorOnCall(call, () -> (Error) failure.get());
        }
        return ThrowingGpuWorks.runtimeExceptionOnCall(call, () -> (RuntimeException) failure.get());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void aJobWhoseWorkThrowsFailsAloneAndTheGpuServesTheNextJobsOfEveryClient(String kind,
            Supplier<Throwable> failure) throws Exception {
        PanfrostDevice dev = PanfrostDevice.builder().name("fault").ramPages(256).build();
        try {
            PanfrostClient a = dev.openClient("a");
            PanfrostClient b = dev.openClient("b");
            PanfrostBo boA = a.createBo("a-bo", 4 * PAGE, NOEXEC);
            PanfrostBo boB = b.createBo("b-bo", 4 * PAGE, NOEXEC);
            byte[] data = pattern(3, 4 * PAGE);
            gpuWrite(a, boA, data);
            ThrowingGpuWorks works = throwingOnCall(2, failure);

            Job first = await(a.submit("first", List.of(boA), works.work(), false));
            Job faulting = await(a.submit("faulting", List.of(boA), works.work(), false));
            Job other = await(b.submit("other-client", List.of(boB), works.work(), false));

            assertThat(first.status()).isEqualTo(Job.Status.DONE);
            assertThat(faulting.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(faulting.fence().isSignalled()).isTrue();
            assertThat(faulting.error()).get().isInstanceOf(GpuFaultException.class)
                    .extracting(GemException::errno).isEqualTo(Errno.EFAULT);
            assertThat(faulting.error().get().getCause()).as("the work's %s is the cause", kind)
                    .isInstanceOf(failure.get().getClass());
            assertThat(other.status()).as("the next job, of another client, still runs").isEqualTo(Job.Status.DONE);
            assertThat(a.mapping(boA).refs()).as("the faulting job's reference is dropped").isEqualTo(1);
            assertThat(boA.isBusy()).isFalse();
            assertThat(gpuRead(a, boA)).isEqualTo(data);
            assertThat(dev.stats().jobsFaulted()).isEqualTo(1);
            assertClean(dev);
            a.close();
            b.close();
            assertEmpty(dev);
        } finally {
            closeWithin(dev, 5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void aHeldJobWhoseWorkThrowsKeepsItsReferencesUntilCompleteAndThenReleasesThem(String kind,
            Supplier<Throwable> failure) throws Exception {
        PanfrostDevice dev = PanfrostDevice.builder().name("fault").ramPages(256).build();
        try {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("bo", 4 * PAGE, NOEXEC);
            ThrowingGpuWorks works = throwingOnCall(1, failure);
            Job held = c.submit("held", List.of(bo), works.work(), true);
            // The next job runs after the faulting work: once it is done, the held job's work has failed.
            await(c.submit("after", List.of(), GpuWork.NONE, false));
            assertThat(held.status()).isEqualTo(Job.Status.FAULTED);
            assertThat(held.fence().isSignalled()).as("held: signals at complete()").isFalse();
            assertThat(c.mapping(bo).refs()).isEqualTo(2);
            assertClean(dev);
            held.complete();
            assertThat(c.mapping(bo).refs()).isEqualTo(1);
            assertThat(bo.isBusy()).isFalse();
            c.close();
            assertEmpty(dev);
        } finally {
            closeWithin(dev, 5);
        }
    }

    @Test
    void aJobThatLeavesItsThreadInterruptedDoesNotStopTheGpu() throws Exception {
        PanfrostDevice dev = PanfrostDevice.builder().name("fault").ramPages(256).build();
        try {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("bo", PAGE, NOEXEC);
            Job rude = await(c.submit("interrupts", List.of(bo), ctx -> Thread.currentThread().interrupt(),
                    false));
            assertThat(rude.status()).isEqualTo(Job.Status.DONE);
            Job next = c.submit("next", List.of(bo), GpuWork.NONE, false);
            assertThat(next.await(5, TimeUnit.SECONDS)).as("the next job runs").isTrue();
            assertThat(next.status()).isEqualTo(Job.Status.DONE);
            c.close();
            assertEmpty(dev);
        } finally {
            closeWithin(dev, 5);
        }
    }

    @Test
    void closingTheDeviceRunsTheQueuedJobsFirst() throws Exception {
        PanfrostDevice dev = PanfrostDevice.builder().name("fault").ramPages(256).build();
        PanfrostClient c = dev.openClient("c");
        PanfrostBo bo = c.createBo("bo", PAGE, NOEXEC);
        GatedGpuWork gate = new GatedGpuWork();
        Job blocker = c.submit("blocker", List.of(bo), gate, false);
        Job queued = c.submit("queued", List.of(bo), GpuWork.NONE, false);
        assertThat(gate.awaitStarted(5, TimeUnit.SECONDS)).isTrue();
        Thread closer = new Thread(dev::close, "closer");
        closer.setDaemon(true);
        closer.start();
        gate.open();
        closer.join(5_000);
        assertThat(closer.isAlive()).isFalse();
        assertThat(blocker.status()).isEqualTo(Job.Status.DONE);
        assertThat(queued.status()).isEqualTo(Job.Status.DONE);
        assertThat(c.mapping(bo).refs()).isEqualTo(1);
        c.close();
        assertEmpty(dev);
    }

    /** Closes the device on another thread and requires that it returns in time (the GPU thread still serves). */
    private static void closeWithin(PanfrostDevice dev, int seconds) throws InterruptedException {
        Thread closer = new Thread(dev::close, "closer");
        closer.setDaemon(true);
        closer.start();
        closer.join(TimeUnit.SECONDS.toMillis(seconds));
        assertThat(closer.isAlive()).as("device closed within %d s", seconds).isFalse();
    }
}
