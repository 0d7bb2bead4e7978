package dev.gemshrink.panthor;

import static dev.gemshrink.panthor.PanthorTesting.PAGE;
import static dev.gemshrink.panthor.PanthorTesting.assertClean;
import static dev.gemshrink.panthor.PanthorTesting.await;
import static dev.gemshrink.panthor.PanthorTesting.bytes;
import static dev.gemshrink.panthor.PanthorTesting.device;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bounded stress: clients on their own threads write and read their BOs through GPU jobs, bind and unbind extra
 * ranges, reclaim their BOs and grow tiler heaps, while a reclaimer thread scans and RAM is short enough for direct
 * reclaim. A normal BO never loses a byte; a discard-on-reclaim BO reads what was last written unless it reports a
 * discard since, and then that or zeros, never other bytes; every invariant holds at the end and closing the clients frees everything.
 */
@Timeout(120)
class PanthorStressTest {
    private static final int THREADS = 4;
    private static final int ROUNDS = 150;
    private static final int NORMAL = 16 * PAGE;
    private static final int SCRATCH = 8 * PAGE;
    private static final long VA = 1L << 32;

    @Test
    void clientsReclaimAndJobsRaceWithoutLosingBytes() throws Exception {
        try (PanthorDevice dev = device(THREADS * 24 + 8, 4096)) {
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            Thread reclaimer = new Thread(() -> {
                while (!stop.get()) {
                    dev.gem().shrinker().scan(32);
                }
            }, "reclaimer");
            reclaimer.start();
            CountDownLatch done = new CountDownLatch(THREADS);
            List<PanthorClient> clients = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                PanthorClient c = dev.openClient("client" + t);
                clients.add(c);
                long seed = t;
                Thread w = new Thread(() -> {
                    try {
                        work(c, seed);
                    } catch (Throwable e) {
                        failures.add(e);
                    } finally {
                        done.countDown();
                    }
                }, "worker" + t);
                w.start();
            }
            assertThat(done.await(100, TimeUnit.SECONDS)).as("workers finished").isTrue();
            stop.set(true);
            reclaimer.join(10_000);
            assertThat(failures).isEmpty();
            assertThat(dev.gem().shrinker().stats().freed()).as("the reclaimer freed pages").isPositive();
            assertClean(dev);
            for (PanthorClient c : clients) {
                c.close();
            }
            assertClean(dev);
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertThat(dev.gem().swap().usedPages()).isZero();
        }
    }

    private static void work(PanthorClient c, long seed) throws InterruptedException {
        Random rnd = new Random(seed);
        PanthorVm vm = c.createVm(c.name() + "-vm");
        PanthorBo normal = c.createBo(c.name() + "-normal", NORMAL, 0, vm);
        PanthorBo scratch = c.createBo(c.name() + "-scratch", SCRATCH, PanthorBo.DISCARD_ON_RECLAIM, vm);
        TilerHeap heap = vm.createTilerHeap(c.name() + "-heap", PAGE, 4);
        vm.bind(normal, 0, NORMAL, VA);
        vm.bind(scratch, 0, SCRATCH, VA + NORMAL);
        byte[] expected = new byte[NORMAL];
        byte[] scratchData = new byte[SCRATCH];
        int discardsAtWrite = 0; // the scratch BO's discard count just before its last write was submitted
        boolean extraBound = false;
        for (int round = 0; round < ROUNDS; round++) {
            try {
                switch (rnd.nextInt(6)) {
                    case 0 -> {
                        byte[] data = bytes(seed * 1000 + round, NORMAL);
                        if (run(vm, ctx -> ctx.write(VA, data))) {
                            expected = data;
                        }
                    }
                    case 1 -> {
                        byte[] back = new byte[NORMAL];
                        if (run(vm, ctx -> ctx.read(VA, back))) {
                            assertThat(back).as("%s round %d", normal.name(), round).isEqualTo(expected);
                        }
                    }
                    case 2 -> {
                        byte[] back = new byte[SCRATCH];
                        if (run(vm, ctx -> ctx.read(VA + NORMAL, back))) {
                            if (scratch.discards() == discardsAtWrite) {
                                assertThat(back).as("%s round %d", scratch.name(), round).isEqualTo(scratchData);
                            } else {
                                assertThat(back).as("%s round %d, discarded since written", scratch.name(), round)
                                        .isIn(scratchData, new byte[SCRATCH]);
                            }
                        }
                        byte[] data = bytes(seed * 1000 + round + 7, SCRATCH);
                        int before = scratch.discards();
                        if (run(vm, ctx -> ctx.write(VA + NORMAL, data))) {
                            scratchData = data;
                            discardsAtWrite = before;
                        }
                    }
                    case 3 -> {
                        if (extraBound) {
                            vm.unbind(VA + (1L << 30), 2 * PAGE);
                        } else {
                            vm.bind(normal, 4 * PAGE, 2 * PAGE, VA + (1L << 30));
                        }
                        extraBound = !extraBound;
                    }
                    case 4 -> (rnd.nextBoolean() ? normal : scratch).reclaim();
                    default -> run(vm, ctx -> ctx.growHeap(heap));
                }
            } catch (GemException e) {
                // Refusals under pressure: a busy or already reclaimed BO (EBUSY), RAM short for a swap-in (ENOMEM).
                assertThat(e.errno()).as("%s", e).isIn(Errno.EBUSY, Errno.ENOMEM);
            }
        }
    }

    /** Runs a job and reports whether it finished normally (a heap that cannot grow is no failure). */
    private static boolean run(PanthorVm vm, JobWork work) throws InterruptedException {
        PanthorJob j = await(vm.submit("job", work));
        assertThat(j.status()).as("%s: %s", j, j.error()).isIn(PanthorJob.Status.DONE,
                PanthorJob.Status.INCREMENTAL_RENDERING_NEEDED);
        return j.status() == PanthorJob.Status.DONE;
    }
}
