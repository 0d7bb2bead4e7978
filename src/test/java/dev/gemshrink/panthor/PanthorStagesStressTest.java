package dev.gemshrink.panthor;

import static dev.gemshrink.panthor.PanthorTesting.PAGE;
import static dev.gemshrink.panthor.PanthorTesting.assertClean;
import static dev.gemshrink.panthor.PanthorTesting.await;
import static dev.gemshrink.panthor.PanthorTesting.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bounded stress of the reclaim stages: clients move their BOs between stages (bind in one VM or two, unbind, CPU
 * map and unmap) and use them through GPU jobs and CPU mappings, while one reclaimer scans as a context that may
 * block (active reclaim waits for busy BOs' jobs) and another as one that may not, with RAM short enough for direct
 * reclaim. No byte is lost, every invariant holds at the end, and closing the clients frees everything.
 */
@Timeout(120)
class PanthorStagesStressTest {
    private static final int THREADS = 3;
    private static final int ROUNDS = 120;
    private static final int SIZE = 4 * PAGE;
    private static final long VA = 1L << 32;

    @Test
    void bosMovingBetweenStagesUnderBlockingAndNonBlockingReclaimLoseNoByte() throws Exception {
        try (PanthorDevice dev = PanthorDevice.builder().ramPages(THREADS * 12 + 8).swap(SwapStore.inMemory(4096))
                .build()) {
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            Shrinker s = dev.gem().shrinker().shrinker();
            LongAdder freed = new LongAdder();
            List<Thread> reclaimers = new ArrayList<>();
            for (boolean canBlock : new boolean[] {true, false}) {
                Thread r = new Thread(() -> {
                    while (!stop.get()) {
                        freed.add(Math.max(0, s.scan(new ShrinkControl(8, canBlock, true))));
                    }
                }, "reclaimer-" + (canBlock ? "blocking" : "nonblocking"));
                r.start();
                reclaimers.add(r);
            }
            CountDownLatch done = new CountDownLatch(THREADS);
            List<PanthorClient> clients = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                PanthorClient c = dev.openClient("client" + t);
                clients.add(c);
                long seed = t;
                new Thread(() -> {
                    try {
                        work(c, seed);
                    } catch (Throwable e) {
                        failures.add(e);
                    } finally {
                        done.countDown();
                    }
                }, "worker" + t).start();
            }
            assertThat(done.await(100, TimeUnit.SECONDS)).as("workers finished").isTrue();
            stop.set(true);
            for (Thread r : reclaimers) {
                r.join(10_000);
            }
            assertThat(failures).isEmpty();
            assertThat(freed.sum()).as("the reclaimers freed pages").isPositive();
            assertClean(dev);
            for (PanthorClient c : clients) {
                c.close();
            }
            assertClean(dev);
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertThat(dev.gem().swap().usedPages()).isZero();
        }
    }

    /**
     * One client: a BO private to {@code a}, a shareable BO bound in {@code a} and now and then in {@code b} too
     * (private, then shared), and a BO only CPU-mapped now and then (mmapped, then unused).
     */
    private static void work(PanthorClient c, long seed) throws InterruptedException {
        Random rnd = new Random(seed);
        PanthorVm a = c.createVm(c.name() + "-a");
        PanthorVm b = c.createVm(c.name() + "-b");
        PanthorBo priv = c.createBo(c.name() + "-private", SIZE, 0, a);
        PanthorBo shared = c.createBo(c.name() + "-shared", SIZE, 0, null);
        PanthorBo mapped = c.createBo(c.name() + "-mapped", SIZE, 0, null);
        a.bind(priv, 0, SIZE, VA);
        a.bind(shared, 0, SIZE, VA + SIZE);
        byte[][] expected = {new byte[SIZE], new byte[SIZE], new byte[SIZE]};
        boolean inB = false;
        CpuMapping m = null;
        for (int round = 0; round < ROUNDS; round++) {
            try {
                byte[] data = bytes(seed * 1000 + round, SIZE);
                switch (rnd.nextInt(6)) {
                    case 0 -> {
                        run(a, ctx -> ctx.write(VA, data));
                        expected[0] = data;
                    }
                    case 1 -> {
                        PanthorVm via = inB && rnd.nextBoolean() ? b : a;
                        long va = via == a ? VA + SIZE : VA;
                        run(via, ctx -> ctx.write(va, data));
                        expected[1] = data;
                    }
                    case 2 -> {
                        byte[] p = new byte[SIZE];
                        byte[] sh = new byte[SIZE];
                        run(a, ctx -> {
                            ctx.read(VA, p);
                            ctx.read(VA + SIZE, sh);
                        });
                        assertThat(p).as("%s round %d", priv.name(), round).isEqualTo(expected[0]);
                        assertThat(sh).as("%s round %d", shared.name(), round).isEqualTo(expected[1]);
                    }
                    case 3 -> {
                        if (inB) {
                            b.unbind(VA, SIZE);
                        } else {
                            b.bind(shared, 0, SIZE, VA);
                        }
                        inB = !inB;
                    }
                    case 4 -> {
                        if (m == null) {
                            m = mapped.mmap();
                            m.write(0, data);
                            expected[2] = data;
                        } else {
                            byte[] back = new byte[SIZE];
                            m.read(0, back);
                            assertThat(back).as("%s round %d", mapped.name(), round).isEqualTo(expected[2]);
                            m.close();
                            m = null;
                        }
                    }
                    default -> (rnd.nextBoolean() ? priv : shared).reclaim();
                }
            } catch (GemException e) {
                // Refusals under pressure: a busy or already reclaimed BO (EBUSY), RAM short for a swap-in (ENOMEM).
                assertThat(e.errno()).as("%s", e).isIn(Errno.EBUSY, Errno.ENOMEM);
            }
        }
        if (m != null) {
            m.close();
        }
    }

    /** Runs a job that must finish normally (a refused submission throws before it runs). */
    private static void run(PanthorVm vm, JobWork work) throws InterruptedException {
        PanthorJob j = await(vm.submit("job", work));
        assertThat(j.status()).as("%s: %s", j, j.error()).isEqualTo(PanthorJob.Status.DONE);
    }
}
