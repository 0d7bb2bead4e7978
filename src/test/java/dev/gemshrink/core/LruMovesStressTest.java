package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.testing.Invariants;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A bounded stress of buffered placement moves: two workers pin, unpin, madvise, take page uses and evict objects
 * they share (more objects than a buffer stripe holds, so full stripes drain on the workers), while a third thread
 * scans, counts and reads the lists (each a drain). After each round every thread is joined and the invariant checker
 * verifies that every object is on the list its state implies, with its weight, and that its recorded move names it.
 */
class LruMovesStressTest {
    private static final int OBJECTS = 3 * MoveBuffer.RING_SIZE;
    private static final int OPS_PER_ROUND = 4_000;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(1_500);
    private static final int PAGE = PagePool.PAGE_SIZE;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrentStateChangesAndScansLeaveExactLists() throws Exception {
        try (GemDevice device = GemDevice.builder().ramPages(4 * OBJECTS).swap(SwapStore.inMemory(4 * OBJECTS))
                .leakDetection(LeakDetection.SIMPLE).build()) {
            ShmemObject[] objs = new ShmemObject[OBJECTS];
            for (int i = 0; i < OBJECTS; i++) {
                objs[i] = device.createObject("s" + i, (long) (1 + i % 3) * PAGE);
                objs[i].getPagesSgt();
            }
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            long end = System.nanoTime() + RUN_NANOS;
            int rounds = 0;
            do {
                long seed = 7919L * ++rounds;
                List<Thread> threads = new ArrayList<>();
                for (int w = 0; w < 2; w++) {
                    SplittableRandom rnd = new SplittableRandom(seed + w);
                    threads.add(new Thread(() -> work(objs, rnd, errors), "worker-" + w));
                }
                threads.add(new Thread(() -> scan(device, errors), "scanner"));
                threads.forEach(Thread::start);
                for (Thread t : threads) {
                    t.join();
                }
                assertThat(errors).as("round %d", rounds).isEmpty();
                Invariants.assertClean(device);
            } while (System.nanoTime() - end < 0);
            for (ShmemObject o : objs) {
                if (!o.isFreed()) {
                    o.free();
                }
            }
            Invariants.assertEmpty(device);
        }
    }

    private static void work(ShmemObject[] objs, SplittableRandom rnd, ConcurrentLinkedQueue<Throwable> errors) {
        try {
            for (int i = 0; i < OPS_PER_ROUND; i++) {
                ShmemObject o = objs[rnd.nextInt(objs.length)];
                try {
                    switch (rnd.nextInt(5)) {
                        case 0:
                            o.pin().close();
                            break;
                        case 1:
                            o.madvise(rnd.nextBoolean() ? Madv.DONTNEED : Madv.WILLNEED);
                            break;
                        case 2:
                            o.getPages().close();
                            break;
                        case 3:
                            o.evict();
                            break;
                        default:
                            o.madvise(Madv.WILLNEED);
                            o.getPagesSgt();
                            break;
                    }
                } catch (GemException e) {
                    // EBUSY (not evictable now), ENOMEM (purged, or no room): refusals, not failures.
                }
            }
        } catch (Throwable t) {
            errors.add(t);
        }
    }

    private static void scan(GemDevice device, ConcurrentLinkedQueue<Throwable> errors) {
        try {
            for (int i = 0; i < OPS_PER_ROUND / 20; i++) {
                device.shrinker().scan(4);
                assertThat(device.shrinker().count()).isNotNegative();
                GemLru<ShmemObject> l = device.lru(Placement.EVICTABLE);
                assertThat(l.pages()).isNotNegative();
            }
        } catch (Throwable t) {
            errors.add(t);
        }
    }
}
