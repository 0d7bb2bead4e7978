package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_2M;
import static dev.gemshrink.panfrost.PanfrostTesting.firstMismatch;
import static dev.gemshrink.panfrost.PanfrostTesting.pattern;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.VMap;
import dev.gemshrink.memory.FileSwapStore;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.reclaim.ShrinkerStats;
import dev.gemshrink.testing.FaultSchedule;
import dev.gemshrink.testing.InjectedError;
import dev.gemshrink.testing.FaultySwapStore;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Chaos at the driver level, bounded in time and seeded (the seed is printed; {@code -Dgemshrink.chaos.seed=N}
 * repeats the draws, {@code -Dgemshrink.chaos.seconds=S} sets the length; the soak profile runs it longer).
 *
 * <p>At once: clients run GPU jobs that write and read known patterns (some jobs' work throws an injected error or
 * exception before touching memory, so the job faults alone), CPU reads and writes, madvise churn like a BO cache,
 * direct evictions and purges, heap BOs grown by GPU faults; a mapper copies through CPU mappings that another
 * thread closes under it; two threads of one client race open, submit and close of a BO shared with another client;
 * a scanner and the background reclaimer reclaim; an interrupter interrupts every one of those threads; the swap
 * store (a real file) fails stores and loads with IOException, RuntimeException and Error on the seeded schedule.
 *
 * <p>What must hold: no hang; every failure a caller sees is an errno or an injected error; every WILLNEED BO (and
 * every cached one still retained) holds exactly what was last written; and once every client is closed the device
 * holds nothing and its checker (the driver's and the core's, swap audit included) finds nothing.
 */
class DriverChaosStressTest {
    private static final long SECONDS = Long.getLong("gemshrink.chaos.seconds", 3);
    private static final int RAM_PAGES = 1024;
    private static final long SWAP_PAGES = 16 * 1024;
    private static final int WORKERS = 3;
    private static final int LIVE = 8;
    private static final int CACHE_MAX = 4;
    private static final long JOIN_MS = 30_000;

    @TempDir
    Path dir;

    private final AtomicBoolean stop = new AtomicBoolean();
    private final ConcurrentLinkedQueue<String> integrityFailures = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    private final LongAdder refused = new LongAdder(); // calls failing with an errno or an injected error
    private final LongAdder jobsDone = new LongAdder();
    private final LongAdder jobsFaultedOnPurpose = new LongAdder();
    private final LongAdder verifiedBytes = new LongAdder();
    private final LongAdder mapCopies = new LongAdder();
    private final LongAdder mapsClosedUnderCopy = new LongAdder();
    private final LongAdder sharedReads = new LongAdder();
    private final LongAdder interrupts = new LongAdder();
    private FaultSchedule faults;
    /** One heap BO at a time: a 2 MiB chunk is half of RAM and can never be reclaimed. */
    private final Semaphore heapSlot = new Semaphore(1);

    /** A BO whose contents the test knows: pattern {@code seed} (0: zeros). */
    private static final class Buf {
        final PanfrostBo bo;
        long seed;

        Buf(PanfrostBo bo, long seed) {
            this.bo = bo;
            this.seed = seed;
        }
    }

    /** Whether a failure is one a caller may see under chaos: an errno, or a fault the test injected. */
    private static boolean expected(Throwable t) {
        return t instanceof GemException || t instanceof InjectedError;
    }

    @Test
    void everyWillneedByteAndEveryInvariantSurviveDriverChaos() throws Exception {
        long seed = Long.getLong("gemshrink.chaos.seed", System.nanoTime());
        System.out.println("DriverChaosStressTest seed=" + seed + " (rerun with -Dgemshrink.chaos.seed=" + seed + ")");
        faults = new FaultSchedule(seed, 4);
        Logger log = (Logger) LoggerFactory.getLogger("dev.gemshrink");
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        log.addAppender(captured);
        log.setAdditive(false);
        try {
            run(seed);
        } finally {
            log.setAdditive(true);
            log.detachAppender(captured);
        }
        for (ILoggingEvent e : captured.list) {
            if (e.getLevel().isGreaterOrEqual(Level.WARN)) {
                assertThat(mentionsInjected(e.getThrowableProxy()))
                        .as("a warning not caused by an injected fault: %s", e.getFormattedMessage()).isTrue();
            }
        }
    }

    private static boolean mentionsInjected(IThrowableProxy t) {
        for (IThrowableProxy p = t; p != null; p = p.getCause()) {
            if (p.getMessage() != null && p.getMessage().contains("injected")) {
                return true;
            }
        }
        return false;
    }

    private void run(long seed) throws Exception {
        FaultySwapStore swap = new FaultySwapStore(FileSwapStore.open(dir.resolve("swap"), SWAP_PAGES));
        swap.failStoresWith(faults.of("swap store"));
        swap.failLoadsWith(faults.of("swap load"));
        try (PanfrostDevice dev = PanfrostDevice.builder().name("chaos").ramPages(RAM_PAGES).swap(swap).build()) {
            BackgroundReclaimer kswapd = dev.startBackgroundReclaimer(64, 192);
            List<Worker> workers = new ArrayList<>();
            List<Thread> victims = new ArrayList<>();
            for (int i = 0; i < WORKERS; i++) {
                Worker w = new Worker(dev.openClient("client" + i), seed + i);
                workers.add(w);
                victims.add(thread("chaos-client" + i, w));
            }
            MapRace maps = new MapRace(dev.openClient("mapper"));
            victims.add(thread("chaos-mapper", maps::copyLoop));
            victims.add(thread("chaos-map-closer", maps::closeLoop));
            SharedRace shared = new SharedRace(dev.openClient("owner"), dev.openClient("racer"), seed);
            victims.add(thread("chaos-open-submit", shared::openSubmitClose));
            victims.add(thread("chaos-closer", shared::closeLoop));
            Thread scanner = thread("chaos-scanner", () -> scanLoop(dev, seed));
            Thread interrupter = thread("chaos-interrupter", () -> interruptLoop(victims, seed));
            List<Thread> all = new ArrayList<>(victims);
            all.add(scanner);
            all.add(interrupter);

            all.forEach(Thread::start);
            TimeUnit.SECONDS.sleep(SECONDS); // the run's length; every race inside it is bounded by the join below
            stop.set(true);
            long deadline = System.currentTimeMillis() + JOIN_MS;
            for (Thread t : all) {
                t.join(Math.max(1, deadline - System.currentTimeMillis()));
                assertThat(t.isAlive()).as("%s finished (no hang)", t.getName()).isFalse();
            }

            faults.off();
            kswapd.close();
            long checked = 0;
            for (Worker w : workers) {
                checked += w.finalVerify();
            }
            maps.finalVerify();
            shared.finalVerify();
            for (Worker w : workers) {
                w.client.close();
            }
            maps.client.close();
            shared.owner.close();
            shared.racer.close();

            List<Violation> violations = dev.check();
            ShrinkerStats sh = dev.gem().shrinker().stats();
            System.out.printf("DriverChaosStressTest seed=%d: %d jobs done (%d faulted on purpose), %d bytes verified,"
                            + " %d BOs checked at the end, %d CPU-mapping copies (%d mappings closed under one),"
                            + " %d shared-BO reads, %d refusals, %d faults injected, %d interrupts,"
                            + " background reclaim failures %d; pages purged %d, evicted %d%n",
                    seed, jobsDone.sum(), jobsFaultedOnPurpose.sum(), verifiedBytes.sum(), checked, mapCopies.sum(),
                    mapsClosedUnderCopy.sum(), sharedReads.sum(), refused.sum(), faults.injected(),
                    interrupts.sum(), kswapd.failures(), sh.purged(), sh.evicted());
            errors.forEach(Throwable::printStackTrace);
            assertThat(errors).as("unexpected errors (seed %d)", seed).isEmpty();
            assertThat(integrityFailures).as("integrity failures (seed %d)", seed).isEmpty();
            assertThat(violations).as("invariant violations (seed %d)", seed).isEmpty();
            assertThat(dev.bos()).as("live BOs").isEmpty();
            assertThat(dev.gem().objects()).as("objects").isEmpty();
            assertThat(dev.gem().pool().usedPages()).as("pool pages").isZero();
            assertThat(dev.gem().swap().usedPages()).as("swap pages").isZero();
            assertThat(jobsDone.sum()).as("jobs done").isPositive();
            assertThat(verifiedBytes.sum()).as("bytes verified").isPositive();
            assertThat(sh.evicted()).as("pages evicted").isPositive();
            assertThat(faults.injected()).as("faults injected").isPositive();
        }
    }

    private Thread thread(String name, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                errors.add(new AssertionError(Thread.currentThread().getName() + " died", e));
            }
        }, name);
        t.setDaemon(true); // a hang fails the join above; it must not keep the JVM alive
        return t;
    }

    private void scanLoop(PanfrostDevice dev, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5ca7);
        while (!stop.get()) {
            try {
                dev.gem().shrinker().scan(16 + rnd.nextInt(400));
            } catch (InjectedError e) {
                refused.increment();
            }
            Thread.onSpinWait();
        }
    }

    private void interruptLoop(List<Thread> victims, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x1e7);
        while (!stop.get()) {
            victims.get(rnd.nextInt(victims.size())).interrupt();
            interrupts.increment();
            try {
                TimeUnit.MICROSECONDS.sleep(200 + rnd.nextInt(800)); // pacing only; nothing waits on it
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Waits for a job, through any number of interrupts; false (recorded) when it did not finish in 10 s. */
    private boolean finished(Job j) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                if (j.await(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    return true;
                }
                integrityFailures.add(j + " did not finish within 10 s");
                return false;
            } catch (InterruptedException e) {
                if (System.nanoTime() > deadline) {
                    integrityFailures.add(j + " did not finish within 10 s");
                    return false;
                }
            }
        }
    }

    /** GPU work that first draws from the fault schedule: an injected failure faults the job before any access. */
    private GpuWork faulty(GpuWork inner) {
        return ctx -> {
            faults.maybe("gpu work");
            inner.run(ctx);
        };
    }

    /** Classifies a finished job: true when DONE; a fault counts only when injected, else it is recorded. */
    private boolean done(Job j) {
        if (j.status() == Job.Status.DONE) {
            jobsDone.increment();
            return true;
        }
        Throwable cause = j.error().map(Throwable::getCause).orElse(null);
        if (cause != null && cause.getMessage() != null && cause.getMessage().startsWith("injected")) {
            jobsFaultedOnPurpose.increment();
        } else {
            integrityFailures.add(j + " faulted: " + j.error().map(Throwable::toString).orElse("?"));
        }
        return false;
    }

    private void compare(String what, PanfrostBo bo, long seed, byte[] got) {
        int at = firstMismatch(seed, got);
        if (at >= 0) {
            integrityFailures.add(what + " of " + bo.name() + " (seed " + seed + ", madv " + bo.madv()
                    + ") differs at byte " + at);
        } else {
            verifiedBytes.add(got.length);
        }
    }

    /** One client's BOs, on one thread: jobs, CPU access, cache churn, direct reclaim, heap growth. */
    private final class Worker implements Runnable {
        final PanfrostClient client;
        private final SplittableRandom rnd;
        private final List<Buf> live = new ArrayList<>();
        private final ArrayDeque<Buf> cache = new ArrayDeque<>();
        private long seeds;

        Worker(PanfrostClient client, long seed) {
            this.client = client;
            this.rnd = new SplittableRandom(seed);
            this.seeds = (seed & 0xffff) << 24 | 1;
        }

        @Override
        public void run() {
            while (!stop.get()) {
                try {
                    step();
                } catch (Throwable t) {
                    if (!expected(t)) {
                        throw t;
                    }
                    refused.increment();
                }
            }
        }

        private void step() {
            if (live.size() < LIVE / 2) {
                create();
                return;
            }
            int r = rnd.nextInt(100);
            if (r < 25) {
                writeJob();
            } else if (r < 45) {
                readJob();
            } else if (r < 53) {
                cpuRead();
            } else if (r < 60) {
                cpuWrite();
            } else if (r < 70) {
                release();
            } else if (r < 80) {
                acquire();
            } else if (r < 86) {
                evictOne();
            } else if (r < 90) {
                purgeCached();
            } else if (r < 93) {
                heapJob();
            } else if (live.size() < LIVE) {
                create();
            } else {
                readJob();
            }
        }

        private Buf pick() {
            return live.get(rnd.nextInt(live.size()));
        }

        private void create() {
            PanfrostBo bo = client.createBo(null, (4 + rnd.nextInt(29)) * (long) PAGE, BoFlags.NOEXEC);
            Buf b = new Buf(bo, 0);
            live.add(b);
            byte[] got = new byte[(int) bo.size()];
            bo.read(0, got);
            compare("new BO read", bo, 0, got);
        }

        private void writeJob() {
            Buf b = pick();
            long next = ++seeds;
            byte[] data = pattern(next, (int) b.bo.size());
            long va = client.mapping(b.bo).va();
            Job j = client.submit(client.name() + "-write", List.of(b.bo), faulty(ctx -> ctx.write(va, data)), false);
            if (finished(j) && done(j)) {
                b.seed = next;
            }
        }

        private void readJob() {
            Buf b = pick();
            byte[] got = new byte[(int) b.bo.size()];
            long va = client.mapping(b.bo).va();
            Job j = client.submit(client.name() + "-read", List.of(b.bo), faulty(ctx -> ctx.read(va, got)), false);
            if (finished(j) && done(j)) {
                compare("GPU read", b.bo, b.seed, got);
            }
        }

        private void cpuRead() {
            Buf b = pick();
            byte[] got = new byte[(int) b.bo.size()];
            try {
                b.bo.read(0, got);
            } catch (GemException | InjectedError e) {
                refusedKeepsContents(b);
                throw e;
            }
            compare("CPU read", b.bo, b.seed, got);
        }

        private void cpuWrite() {
            Buf b = pick();
            long next = ++seeds;
            try {
                b.bo.write(0, pattern(next, (int) b.bo.size()));
            } catch (GemException | InjectedError e) {
                refusedKeepsContents(b); // the mapping failed before anything was written
                throw e;
            }
            b.seed = next;
        }

        /** A WILLNEED BO that refused an access must still hold its contents: never purged. */
        private void refusedKeepsContents(Buf b) {
            if (b.bo.madv() == Madv.PURGED) {
                integrityFailures.add(b.bo.name() + " was purged while WILLNEED");
            }
        }

        private void evictOne() {
            Buf b = pick();
            try {
                b.bo.evict();
            } catch (GemException e) {
                if (e.errno() != Errno.EBUSY && e.errno() != Errno.ENOMEM) {
                    throw e;
                }
                refused.increment();
            }
        }

        private void release() {
            if (live.size() <= 2) {
                return;
            }
            Buf b = live.remove(rnd.nextInt(live.size()));
            if (!client.madvise(b.bo, Madv.DONTNEED)) {
                integrityFailures.add(b.bo.name() + " was not retained while WILLNEED");
            }
            cache.addLast(b);
            while (cache.size() > CACHE_MAX) {
                client.close(cache.pollFirst().bo);
            }
        }

        private void acquire() {
            Buf b = cache.pollLast();
            if (b == null) {
                return;
            }
            if (client.madvise(b.bo, Madv.WILLNEED)) {
                live.add(b);
                byte[] got = new byte[(int) b.bo.size()];
                b.bo.read(0, got);
                compare("CPU read after WILLNEED", b.bo, b.seed, got);
            } else {
                client.close(b.bo);
            }
        }

        private void purgeCached() {
            Buf b = cache.peekFirst();
            if (b == null) {
                return;
            }
            try {
                b.bo.purge();
            } catch (GemException e) {
                if (e.errno() != Errno.EBUSY) {
                    throw e;
                }
                refused.increment();
            }
        }

        private void heapJob() {
            if (!heapSlot.tryAcquire()) {
                return;
            }
            try {
                heapJobIn();
            } finally {
                heapSlot.release();
            }
        }

        private void heapJobIn() {
            PanfrostBo heap = client.createBo(null, 2 * SZ_2M, BoFlags.HEAP | BoFlags.NOEXEC);
            try {
                long va = client.mapping(heap).va() + rnd.nextInt(2) * SZ_2M + rnd.nextInt(500) * (long) PAGE;
                long s = ++seeds;
                byte[] data = pattern(s, 2 * PAGE);
                byte[] got = new byte[data.length];
                Job j = client.submit(client.name() + "-heap", List.of(heap), ctx -> {
                    ctx.write(va, data);
                    ctx.read(va, got);
                }, false);
                if (!finished(j)) {
                    return;
                }
                if (j.status() == Job.Status.DONE) {
                    jobsDone.increment();
                    compare("heap read", heap, s, got);
                } else if (!(j.error().map(Throwable::getCause).orElse(null) instanceof GemException g)
                        || g.errno() != Errno.ENOMEM) {
                    integrityFailures.add(j + " faulted: " + j.error().map(Throwable::toString).orElse("?"));
                }
            } finally {
                client.close(heap);
            }
        }

        /** After the run, single-threaded: every WILLNEED BO, and every cached one still retained, is intact. */
        long finalVerify() {
            for (Buf b : cache) {
                if (client.madvise(b.bo, Madv.WILLNEED)) {
                    live.add(b);
                }
            }
            cache.clear();
            for (Buf b : live) {
                byte[] got = new byte[(int) b.bo.size()];
                long va = client.mapping(b.bo).va();
                Job j = client.submit(client.name() + "-final", List.of(b.bo), ctx -> ctx.read(va, got), false);
                if (finished(j) && done(j)) {
                    compare("final GPU read", b.bo, b.seed, got);
                }
                byte[] cpu = new byte[got.length];
                b.bo.read(0, cpu);
                compare("final CPU read", b.bo, b.seed, cpu);
            }
            return live.size();
        }
    }

    /**
     * A mapper copies one pattern through CPU mappings while a closer closes them under it. Both only ever write
     * that pattern, so whatever part of a copy lands before a close, the BO holds exactly that pattern.
     */
    private final class MapRace {
        final PanfrostClient client;
        private final PanfrostBo bo;
        private final long seed = 0x3a9L;
        private final byte[] data;
        private final AtomicReference<VMap> current = new AtomicReference<>();

        MapRace(PanfrostClient client) {
            this.client = client;
            this.bo = client.createBo("mapped", 16L * PAGE, BoFlags.NOEXEC);
            this.data = pattern(seed, (int) bo.size());
            bo.write(0, data);
        }

        void copyLoop() {
            while (!stop.get()) {
                VMap map;
                try {
                    map = bo.vmap();
                } catch (GemException | InjectedError e) {
                    refused.increment();
                    continue;
                }
                current.set(map);
                try {
                    for (int off = 0; off < data.length; off += PAGE) {
                        map.write(off, data, off, PAGE);
                    }
                    mapCopies.increment();
                } catch (GemException e) {
                    mapsClosedUnderCopy.increment(); // EINVAL: the closer closed it; nothing after that landed
                }
                if (current.compareAndSet(map, null)) {
                    map.close();
                }
            }
        }

        void closeLoop() {
            while (!stop.get()) {
                VMap map = current.getAndSet(null);
                if (map != null) {
                    map.close();
                }
                Thread.onSpinWait();
            }
        }

        void finalVerify() {
            byte[] got = new byte[data.length];
            bo.read(0, got);
            compare("mapped BO read", bo, seed, got);
        }
    }

    /**
     * One client owns a BO; two threads of another client race opening it, submitting jobs that read it, and
     * closing it. A lost race is ENOENT or EINVAL; a job that ran read the owner's bytes.
     */
    private final class SharedRace {
        final PanfrostClient owner;
        final PanfrostClient racer;
        private final PanfrostBo bo;
        private final long seed;

        SharedRace(PanfrostClient owner, PanfrostClient racer, long seed) {
            this.owner = owner;
            this.racer = racer;
            this.seed = seed | 1;
            this.bo = owner.createBo("shared", 8L * PAGE, BoFlags.NOEXEC);
            bo.write(0, pattern(this.seed, (int) bo.size()));
        }

        void openSubmitClose() {
            while (!stop.get()) {
                try {
                    long va = racer.open(bo).va();
                    byte[] got = new byte[(int) bo.size()];
                    Job j = racer.submit("shared-read", List.of(bo), faulty(ctx -> ctx.read(va, got)), false);
                    if (finished(j) && done(j)) {
                        sharedReads.increment();
                        compare("shared BO read", bo, seed, got);
                    }
                    racer.close(bo);
                } catch (GemException e) {
                    if (e.errno() != Errno.ENOENT && e.errno() != Errno.EINVAL && e.errno() != Errno.ENOMEM
                            && e.errno() != Errno.EFAULT) {
                        throw e;
                    }
                    refused.increment();
                } catch (InjectedError e) {
                    refused.increment();
                }
            }
        }

        void closeLoop() {
            while (!stop.get()) {
                try {
                    racer.close(bo);
                } catch (GemException e) {
                    if (e.errno() != Errno.ENOENT) {
                        throw e;
                    }
                }
                Thread.onSpinWait();
            }
        }

        void finalVerify() {
            byte[] got = new byte[(int) bo.size()];
            bo.read(0, got);
            compare("shared BO final read", bo, seed, got);
        }
    }
}
