package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.ResvLock;
import dev.gemshrink.testing.ThreadStates;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Races between a client's calls, made deterministic: the test holds a BO's reservation lock, starts the racing
 * call on another thread, waits until that thread is parked on the lock ({@link ThreadStates}), makes the other
 * call, and then releases the lock. Whatever the interleaving, a lost race is a {@link GemException} and nothing
 * leaks: after every client is closed the device holds nothing.
 */
@Timeout(60)
class ClientRaceTest {
    private static final int NOEXEC = BoFlags.NOEXEC;

    private static PanfrostDevice device() {
        return PanfrostDevice.builder().name("race").ramPages(256).build();
    }

    /** A call running on its own thread; its result or failure is kept. */
    static final class Call<T> {
        final Thread thread;
        final AtomicReference<T> result = new AtomicReference<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Call(String name, java.util.function.Supplier<T> body) {
            thread = new Thread(() -> {
                try {
                    result.set(body.get());
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, name);
            thread.setDaemon(true);
            thread.start();
        }

        void join() throws InterruptedException {
            thread.join(TimeUnit.SECONDS.toMillis(10));
            assertThat(thread.isAlive()).as("%s finished", thread.getName()).isFalse();
        }

        void parkOn(ResvLock lock) {
            ThreadStates.awaitParkedIn(thread, ResvLock.class, 10, TimeUnit.SECONDS);
        }
    }

    /**
     * Defect 3: submit takes its mapping references, then waits for a reservation lock; meanwhile the client closes
     * the handle of one of the BOs (still open in another client, so it lives on). The submit must not then fail
     * with an IllegalStateException and leak the references it took on the other BOs: it either wins (it holds the
     * mapping until the job finishes) or fails with ENOENT and releases everything.
     */
    @Test
    void closeRacingSubmitIsWonCleanlyOrLostWithEnoentAndNeverLeaks() throws Exception {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostClient other = dev.openClient("other");
            PanfrostBo a = c.createBo("a", PAGE, NOEXEC);
            PanfrostBo b = c.createBo("b", PAGE, NOEXEC);
            other.open(b); // b outlives c's handle
            ResvLock lockA = a.shmem().resv();
            lockA.lock();
            Call<Job> submit;
            try {
                submit = new Call<>("submitter", () -> c.submit("racing", List.of(a, b), GpuWork.NONE, false));
                submit.parkOn(lockA);
                c.close(b);
            } finally {
                lockA.unlock();
            }
            submit.join();
            Throwable f = submit.failure.get();
            if (f != null) {
                assertThat(f).as("a lost race is a GemException").isInstanceOf(GemException.class);
                assertThat(((GemException) f).errno()).isEqualTo(Errno.ENOENT);
            } else {
                assertThat(await(submit.result.get()).status()).isEqualTo(Job.Status.DONE);
            }
            assertThat(c.mapping(a).refs()).as("no reference left on a").isEqualTo(1);
            assertThat(a.isBusy()).isFalse();
            assertThat(b.isBusy()).isFalse();
            assertClean(dev);
            c.close();
            other.close();
            assertEmpty(dev);
        }
    }

    /** The lost race itself: the handle is gone before submit looks; ENOENT, and the others' references are back. */
    @Test
    void submitListingAClosedHandleIsEnoentAndReleasesTheReferencesItTook() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo a = c.createBo("a", PAGE, NOEXEC);
            PanfrostBo b = c.createBo("b", PAGE, NOEXEC);
            PanfrostBo d = c.createBo("d", PAGE, NOEXEC);
            c.close(b);
            long submitted = dev.stats().jobsSubmitted();
            PanfrostTesting.assertErrno(Errno.ENOENT,
                    () -> c.submit("stale", List.of(a, b, d), GpuWork.NONE, false));
            assertThat(c.mapping(a).refs()).isEqualTo(1);
            assertThat(c.mapping(d).refs()).isEqualTo(1);
            assertThat(a.isBusy()).isFalse();
            assertThat(dev.stats().jobsSubmitted()).isEqualTo(submitted);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }
}
