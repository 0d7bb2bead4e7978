package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static dev.gemshrink.panfrost.PanfrostTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.Madv;
import dev.gemshrink.locking.ResvLock;
import dev.gemshrink.testing.ThreadStates;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

        Call(String name, Supplier<T> body) {
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

        void parkOnAReservationLock() {
            ThreadStates.awaitParkedIn(thread, ResvLock.class, 10, TimeUnit.SECONDS);
        }
    }

    /**
     * Defect 3: submit takes its mapping references, then waits for a reservation lock; meanwhile the client closes
     * the handle of one of the BOs, which is either still open in another client (so it lives on) or has no other
     * handle (so the close would free it). The submit must not then fail with an IllegalStateException and leak the
     * references it took on the other BOs: it either wins (it holds the mapping until the job finishes) or fails with
     * ENOENT and releases everything.
     */
    @ParameterizedTest(name = "closed BO open elsewhere: {0}")
    @ValueSource(booleans = {true, false})
    void closeRacingSubmitIsWonCleanlyOrLostWithEnoentAndNeverLeaks(boolean openElsewhere) throws Exception {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostClient other = dev.openClient("other");
            PanfrostBo a = c.createBo("a", PAGE, NOEXEC);
            PanfrostBo b = c.createBo("b", PAGE, NOEXEC);
            if (openElsewhere) {
                other.open(b); // b outlives c's handle
            }
            ResvLock lockA = a.shmem().resv();
            lockA.lock();
            Call<Job> submit;
            try {
                submit = new Call<>("submitter", () -> c.submit("racing", List.of(a, b), GpuWork.NONE, false));
                submit.parkOnAReservationLock(); // its mappings are looked up; it waits for a's lock
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
    /**
     * Defect 4: two opens of one BO in one client, racing. The first takes its reference and VA and waits for the
     * BO's reservation lock; the second must not also map the BO (one of the two mappings, its VA and its BO
     * reference would leak when the handle table keeps only one). Exactly one open wins; the other is EINVAL
     * ("already open here", as {@link PanfrostClient#open} documents) and takes nothing.
     */
    @Test
    void twoConcurrentOpensOfOneBoInOneClientHaveExactlyOneWinner() throws Exception {
        try (PanfrostDevice dev = device()) {
            PanfrostClient owner = dev.openClient("owner");
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = owner.createBo("bo", PAGE, NOEXEC);
            ResvLock lock = bo.shmem().resv();
            lock.lock();
            Call<GpuMapping> first;
            Call<GpuMapping> second;
            try {
                first = new Call<>("open-1", () -> c.open(bo));
                first.parkOnAReservationLock();
                second = new Call<>("open-2", () -> c.open(bo));
                ThreadStates.awaitEndedOrParkedIn(second.thread, ResvLock.class, 10, TimeUnit.SECONDS);
            } finally {
                lock.unlock();
            }
            first.join();
            second.join();
            List<Call<GpuMapping>> calls = List.of(first, second);
            assertThat(calls).as("exactly one open wins").filteredOn(x -> x.result.get() != null).hasSize(1);
            Call<GpuMapping> loser = calls.stream().filter(x -> x.result.get() == null).findFirst().orElseThrow();
            assertThat(loser.failure.get()).isInstanceOf(GemException.class);
            assertThat(((GemException) loser.failure.get()).errno()).isEqualTo(Errno.EINVAL);
            GpuMapping won = calls.stream().map(x -> x.result.get()).filter(Objects::nonNull)
                    .findFirst().orElseThrow();
            assertThat(c.mapping(bo)).isSameAs(won);
            assertThat(c.addressSpace().mappings()).containsExactly(won);
            assertThat(bo.refs()).isEqualTo(2);
            assertThat(bo.mappings()).hasSize(2);
            assertClean(dev);
            owner.close();
            c.close();
            assertEmpty(dev);
        }
    }

    /**
     * Suspicion a: an open that lands after {@link PanfrostClient#close()} has swept the handle table. Once close
     * has begun, the open fails (ENOENT: a closed client has no handles and gets none) and undoes its mapping.
     */
    @Test
    void anOpenRacingClientCloseFailsAndLeavesNoHandle() throws Exception {
        try (PanfrostDevice dev = device()) {
            PanfrostClient owner = dev.openClient("owner");
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = owner.createBo("bo", PAGE, NOEXEC);
            ResvLock lock = bo.shmem().resv();
            lock.lock();
            Call<GpuMapping> open;
            try {
                open = new Call<>("open", () -> c.open(bo));
                open.parkOnAReservationLock();
                c.close();
            } finally {
                lock.unlock();
            }
            open.join();
            assertThat(open.failure.get()).as("the open lands after close began").isInstanceOf(GemException.class);
            assertThat(((GemException) open.failure.get()).errno()).isEqualTo(Errno.ENOENT);
            assertThat(c.bos()).isEmpty();
            assertThat(c.addressSpace().mappings()).isEmpty();
            assertThat(bo.refs()).isEqualTo(1);
            assertThat(dev.clients()).containsExactly(owner);
            assertClean(dev);
            owner.close();
            assertEmpty(dev);
        }
    }

    @Test
    void aClosedClientRefusesOpenAndCreateAndTakesNothing() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient owner = dev.openClient("owner");
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = owner.createBo("bo", PAGE, NOEXEC);
            c.close();
            PanfrostTesting.assertErrno(Errno.ENOENT, () -> c.open(bo));
            PanfrostTesting.assertErrno(Errno.ENOENT, () -> c.createBo("late", PAGE, NOEXEC));
            assertThat(c.bos()).isEmpty();
            assertThat(c.addressSpace().mappings()).isEmpty();
            assertThat(dev.bos()).containsExactly(bo);
            assertThat(bo.refs()).isEqualTo(1);
            assertClean(dev);
            owner.close();
            assertEmpty(dev);
        }
    }

    /**
     * Client close sweeping its table while one of its handles is closed concurrently: the client still closes
     * every handle and is forgotten by the device (it used to hit ENOENT part way and stop, leaking the rest).
     */
    @Test
    void clientCloseRacingAHandleCloseStillClosesEverything() throws Exception {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo a = c.createBo("a", PAGE, NOEXEC);
            PanfrostBo b = c.createBo("b", PAGE, NOEXEC);
            PanfrostBo d = c.createBo("d", PAGE, NOEXEC);
            ResvLock lockA = a.shmem().resv();
            lockA.lock();
            Call<Object> close;
            try {
                close = new Call<>("client-close", () -> {
                    c.close();
                    return null;
                });
                close.parkOnAReservationLock(); // releasing a's mapping waits for a's lock
                try {
                    c.close(b);
                } catch (GemException e) {
                    assertThat(e.errno()).as("already closed by the client").isEqualTo(Errno.ENOENT);
                }
            } finally {
                lockA.unlock();
            }
            close.join();
            assertThat(close.failure.get()).as("client close").isNull();
            assertThat(dev.clients()).doesNotContain(c);
            assertThat(d.refs()).isZero();
            assertEmpty(dev);
        }
    }
    /**
     * A bounded stress run (at most 10 s; the seed is printed) of one client's opens, handle closes, submits and
     * madvises on a few BOs from four threads; half way the opener closes the client while the others still run.
     * Lost races must be GemExceptions (EINVAL, ENOENT), and once all is joined and closed the device holds nothing.
     */
    @Test
    void openCloseSubmitAndClientCloseFromManyThreadsLeakNothing() throws Exception {
        long seed = Long.getLong("gemshrink.race.seed", System.nanoTime());
        System.out.println("ClientRaceTest stress seed: " + seed + " (-Dgemshrink.race.seed=" + seed + ")");
        int iterations = 4_000;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try (PanfrostDevice dev = device()) {
            PanfrostClient owner = dev.openClient("owner");
            PanfrostClient c = dev.openClient("c");
            List<PanfrostBo> bos = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                bos.add(owner.createBo("bo" + i, PAGE, NOEXEC));
            }
            Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            Queue<Job> jobs = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                Random rnd = new Random(seed + w);
                int kind = w;
                Thread t = new Thread(() -> {
                    for (int i = 0; i < iterations && System.nanoTime() < deadline; i++) {
                        PanfrostBo bo = bos.get(rnd.nextInt(bos.size()));
                        try {
                            switch (kind) {
                                case 0 -> {
                                    if (i == iterations / 2) {
                                        c.close();
                                    }
                                    c.open(bo);
                                }
                                case 1 -> c.close(bo);
                                case 2 -> jobs.add(c.submit("j", List.of(bo, bos.get(rnd.nextInt(bos.size()))),
                                        GpuWork.NONE, false));
                                default -> c.madvise(bo, Madv.WILLNEED);
                            }
                        } catch (GemException e) {
                            if (e.errno() != Errno.EINVAL && e.errno() != Errno.ENOENT) {
                                unexpected.add(e);
                            }
                        } catch (Throwable e) {
                            unexpected.add(e);
                        }
                    }
                }, "stress-" + w);
                t.setDaemon(true);
                threads.add(t);
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(15));
                assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
            }
            c.close(); // in case the deadline came before the opener's half way
            for (Job j : jobs) {
                await(j);
            }
            assertThat(unexpected).as("seed %d", seed).isEmpty();
            assertThat(c.bos()).as("seed %d: nothing opened after close", seed).isEmpty();
            for (PanfrostBo bo : bos) {
                assertThat(bo.refs()).as("seed %d: %s", seed, bo).isEqualTo(1);
            }
            assertClean(dev);
            owner.close();
            assertEmpty(dev);
        }
    }
}
