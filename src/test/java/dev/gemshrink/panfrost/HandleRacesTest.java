package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.assertErrno;
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
 * Races on a client's handle table, made deterministic by holding a BO's reservation lock so that the racing call
 * parks exactly where the race window was: two opens of one BO, a close racing a submit, a client closing while an
 * open is in progress.
 */
@Timeout(30)
class HandleRacesTest {

    /** Waits (bounded) until a thread parks on the reservation lock the test holds. */
    private static void awaitBlocked(Thread t) {
        ThreadStates.awaitParkedIn(t, ResvLock.class, 10, TimeUnit.SECONDS);
    }

    private static Thread start(String name, Runnable r, AtomicReference<Throwable> failed) {
        Thread t = new Thread(() -> {
            try {
                r.run();
            } catch (Throwable e) {
                failed.set(e);
            }
        }, name);
        t.start();
        return t;
    }

    @Test
    void twoConcurrentOpensOfOneBoInOneClientOneWins() throws Exception {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("open-race").ramPages(64).build()) {
            PanfrostClient owner = dev.openClient("owner");
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = owner.createBo("bo", 2L * PAGE, 0);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            bo.shmem().resv().lock();
            Thread first;
            try {
                first = start("first-open", () -> c.open(bo), failed);
                awaitBlocked(first); // it holds the handle slot and waits to map
                assertErrno(Errno.EINVAL, () -> c.open(bo));
            } finally {
                bo.shmem().resv().unlock();
            }
            first.join(10_000);
            assertThat(failed.get()).isNull();
            assertThat(bo.mappings()).hasSize(2);
            assertThat(c.addressSpace().mappings()).hasSize(1);
            owner.close();
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void aCloseRacingASubmitIsEitherEnoentOrHarmlessAndLeaksNothing() throws Exception {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("submit-race").ramPages(64).build()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo a = c.createBo("a", PAGE, 0);
            PanfrostBo b = c.createBo("b", PAGE, 0);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            AtomicReference<Job> job = new AtomicReference<>();
            b.shmem().resv().lock();
            Thread submitter;
            try {
                submitter = start("submitter", () -> job.set(c.submit("j", List.of(a, b), GpuWork.NONE, false)),
                        failed);
                awaitBlocked(submitter); // its mappings are looked up; it waits for b's lock
                c.close(a); // the only handle of a goes while the submit is in flight
            } finally {
                b.shmem().resv().unlock();
            }
            submitter.join(10_000);
            if (failed.get() != null) {
                assertThat(failed.get()).isInstanceOf(GemException.class);
                assertThat(((GemException) failed.get()).errno()).isEqualTo(Errno.ENOENT);
            } else {
                assertThat(await(job.get()).status()).isEqualTo(Job.Status.DONE);
            }
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void aClientClosedWhileAnOpenIsInProgressKeepsNoHandle() throws Exception {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("close-race").ramPages(64).build()) {
            PanfrostClient owner = dev.openClient("owner");
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = owner.createBo("bo", PAGE, 0);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            bo.shmem().resv().lock();
            Thread opener;
            try {
                opener = start("opener", () -> c.open(bo), failed);
                awaitBlocked(opener);
                c.close();
            } finally {
                bo.shmem().resv().unlock();
            }
            opener.join(10_000);
            assertThat(failed.get()).isInstanceOf(GemException.class);
            assertThat(((GemException) failed.get()).errno()).isEqualTo(Errno.ENOENT);
            assertThat(c.bos()).isEmpty();
            assertThat(c.addressSpace().mappings()).isEmpty();
            owner.close();
            assertEmpty(dev);
        }
    }
}
