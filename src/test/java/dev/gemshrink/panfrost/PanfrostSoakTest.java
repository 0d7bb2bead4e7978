package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_2M;
import static dev.gemshrink.panfrost.PanfrostTesting.firstMismatch;
import static dev.gemshrink.panfrost.PanfrostTesting.pattern;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.Madv;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.reclaim.ShrinkerStats;
import dev.gemshrink.testing.FaultySwapStore;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * A multi-threaded soak of the driver (docs/kernel-model.md section 6, last point): several clients, each on its own
 * thread, submit GPU jobs that write and read known byte patterns in their BOs, grow heap BOs by GPU faults, and churn
 * madvise like Mesa's BO cache (idle BOs DONTNEED, WILLNEED when reused, recreated when not retained), while a
 * kswapd-like background reclaimer and a thread writing to the shrinker's {@code scan} purge and evict, under a RAM
 * budget about a third of the clients' WILLNEED data, with swap.
 *
 * <p>What must hold: nothing crashes or hangs; every WILLNEED BO, and every DONTNEED BO that was still retained when
 * reused, reads back exactly what was last written; a new BO reads zeros; a busy BO is never reclaimed; and closing
 * every client leaves no BO, no object, no RAM and no swap in use, with the invariant checker clean. Jobs refused
 * with ENOMEM at submit, BO creations that find no memory and heap faults that find no chunk are counted, not fatal.
 *
 * <p>Runs for {@code -Dgemshrink.soak.seconds} seconds (default 5); {@code -Dgemshrink.soak.clients} sets the number
 * of clients (default 4).
 */
class PanfrostSoakTest {
    private static final long SECONDS = Long.getLong("gemshrink.soak.seconds", 5);
    private static final int CLIENTS = Integer.getInteger("gemshrink.soak.clients", 4);
    private static final int RAM_PAGES = 1024;
    private static final long SWAP_PAGES = 64 * 1024;
    private static final int LIVE_TARGET = 14; // WILLNEED BOs a client keeps
    private static final int CACHE_MAX = 8; // DONTNEED BOs a client's cache keeps
    private static final int MIN_PAGES = 8;
    private static final int MAX_PAGES = 72;
    private static final int HEAP_CHUNKS = 3;
    private static final long JOIN_GRACE_MS = 60_000;

    private final AtomicBoolean stop = new AtomicBoolean();
    private final ConcurrentLinkedQueue<String> integrityFailures = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    /** One heap BO at a time: a 2 MiB chunk is half of RAM and can never be reclaimed. */
    private final Semaphore heapSlot = new Semaphore(1);

    private final LongAdder jobsRun = new LongAdder();
    private final LongAdder submitEnomem = new LongAdder();
    private final LongAdder createEnomem = new LongAdder();
    private final LongAdder cpuEnomem = new LongAdder();
    private final LongAdder heapJobs = new LongAdder();
    private final LongAdder heapFaultEnomem = new LongAdder();
    private final LongAdder cacheHits = new LongAdder();
    private final LongAdder cacheMissesPurged = new LongAdder();
    private final LongAdder heldJobs = new LongAdder();
    private final LongAdder verifiedBytes = new LongAdder();
    private final LongAdder scannerFreed = new LongAdder();

    /** A BO the test knows the contents of: pattern {@code seed} (0: zeros). */
    private static final class Buf {
        final PanfrostBo bo;
        long seed;

        Buf(PanfrostBo bo, long seed) {
            this.bo = bo;
            this.seed = seed;
        }
    }

    @Test
    void clientsJobsHeapFaultsAndMadviseChurnUnderReclaimKeepWillneedDataAndLeakNothing() throws Exception {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(SWAP_PAGES)); // counts loads, injects nothing
        List<Worker> workers = new ArrayList<>();
        String figures;
        try (PanfrostDevice dev = PanfrostDevice.builder().name("soak").ramPages(RAM_PAGES).swap(swap).build()) {
            BackgroundReclaimer kswapd = dev.startBackgroundReclaimer(96, 256);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                Worker w = new Worker(dev, dev.openClient("client" + i), 0x5eed0000L + i);
                workers.add(w);
                Thread t = new Thread(w, "soak-client" + i);
                t.setDaemon(true); // a hang fails the test below; it must not keep the JVM alive
                threads.add(t);
            }
            Thread scanner = new Thread(() -> scanLoop(dev), "soak-scanner");
            scanner.setDaemon(true);
            long start = System.nanoTime();
            scanner.start();
            threads.forEach(Thread::start);
            Thread.sleep(TimeUnit.SECONDS.toMillis(SECONDS));
            stop.set(true);
            long joinDeadline = System.currentTimeMillis() + JOIN_GRACE_MS;
            for (Thread t : threads) {
                t.join(Math.max(1, joinDeadline - System.currentTimeMillis()));
                assertThat(t.isAlive()).as("%s finished (no hang)", t.getName()).isFalse();
            }
            scanner.join(Math.max(1, joinDeadline - System.currentTimeMillis()));
            assertThat(scanner.isAlive()).as("scanner finished").isFalse();
            long runMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            // Final integrity pass, single-threaded (the background reclaimer still runs): every WILLNEED BO holds
            // what was last written; every cached BO still retained holds it too once WILLNEED again.
            long survivorsChecked = 0;
            for (Worker w : workers) {
                survivorsChecked += w.finalVerify();
            }
            for (Worker w : workers) {
                w.client.close();
            }
            kswapd.close();
            assertThat(dev.clients()).isEmpty();

            List<Violation> violations = dev.check();
            long leaks = dev.gem().pool().usedPages() + dev.gem().swap().usedPages() + dev.gem().objects().size()
                    + dev.bos().size();
            PanfrostDevice.Stats st = dev.stats();
            ShrinkerStats sh = dev.gem().shrinker().stats();
            figures = String.format(
                    "panfrost soak: %d s (%d ms run), RAM %d pages, swap %d pages%n"
                            + "  clients: %d%n"
                            + "  jobs: %d submitted, %d done, %d faulted (heap faults that found no chunk: %d);"
                            + " %d held; refused ENOMEM at submit: %d%n"
                            + "  GPU faults resolved: %d, heap chunks populated: %d, heap jobs: %d%n"
                            + "  BO cache: %d reused retained, %d recreated after purge; creates ENOMEM: %d,"
                            + " CPU access ENOMEM: %d%n"
                            + "  pages purged: %d, evicted: %d, swapped in: %d (%d loads);"
                            + " shrinker scans %d, freed %d (scan thread %d, background reclaimer %d)%n"
                            + "  bytes verified: %d, WILLNEED/retained BOs checked at the end: %d%n"
                            + "  integrity failures: %d, leaks: %d, invariant violations: %d, errors: %d",
                    SECONDS, runMillis, RAM_PAGES, SWAP_PAGES, CLIENTS,
                    st.jobsSubmitted(), st.jobsDone(), st.jobsFaulted(), heapFaultEnomem.sum(), heldJobs.sum(),
                    submitEnomem.sum(),
                    st.gpuFaults(), st.heapChunks(), heapJobs.sum(),
                    cacheHits.sum(), cacheMissesPurged.sum(), createEnomem.sum(), cpuEnomem.sum(),
                    sh.purged(), sh.evicted(), swap.loadedPages(), swap.loads(), sh.scans(), sh.freed(),
                    scannerFreed.sum(), kswapd.reclaimed(),
                    verifiedBytes.sum(), survivorsChecked,
                    integrityFailures.size(), leaks, violations.size(), errors.size());
            System.out.println(figures);

            errors.forEach(Throwable::printStackTrace);
            assertThat(errors).as("unexpected errors").isEmpty();
            assertThat(integrityFailures).as("integrity failures").isEmpty();
            assertThat(violations).as("invariant violations").isEmpty();
            assertThat(dev.bos()).as("live BOs").isEmpty();
            assertThat(dev.gem().objects()).as("objects").isEmpty();
            assertThat(dev.gem().pool().usedPages()).as("pool pages").isZero();
            assertThat(dev.gem().swap().usedPages()).as("swap pages").isZero();
            assertThat(leaks).isZero();
            // The run did what it is for: real GPU work, heap growth, and both kinds of reclaim with swap-ins.
            assertThat(st.jobsDone()).as("jobs done").isPositive();
            assertThat(st.gpuFaults()).as("heap faults resolved").isPositive();
            assertThat(sh.evicted()).as("pages evicted").isPositive();
            assertThat(sh.purged()).as("pages purged").isPositive();
            assertThat(swap.loadedPages()).as("pages swapped in").isPositive();
            assertThat(st.jobsFaulted()).as("only heap faults without memory fail jobs")
                    .isEqualTo(heapFaultEnomem.sum());
        }
    }

    private void scanLoop(PanfrostDevice dev) {
        SplittableRandom rnd = new SplittableRandom(0xc0ffee);
        try {
            while (!stop.get()) {
                scannerFreed.add(dev.gem().shrinker().scan(16 + rnd.nextInt(497)));
                Thread.sleep(1 + rnd.nextInt(3));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            errors.add(t);
        }
    }

    /** One client on its own thread. */
    private final class Worker implements Runnable {
        private final PanfrostDevice dev;
        private final PanfrostClient client;
        private final SplittableRandom rnd;
        private final List<Buf> live = new ArrayList<>();
        private final ArrayDeque<Buf> cache = new ArrayDeque<>();
        private long seeds;

        Worker(PanfrostDevice dev, PanfrostClient client, long seed) {
            this.dev = dev;
            this.client = client;
            this.rnd = new SplittableRandom(seed);
            this.seeds = seed << 20;
        }

        @Override
        public void run() {
            try {
                while (!stop.get()) {
                    step();
                }
            } catch (Throwable t) {
                errors.add(t);
            }
        }

        private void step() throws InterruptedException {
            if (live.size() < LIVE_TARGET / 2) {
                acquire();
                return;
            }
            int r = rnd.nextInt(100);
            if (r < 26) {
                writeJob();
            } else if (r < 40) {
                readJob();
            } else if (r < 50) {
                readThenWriteJob();
            } else if (r < 55) {
                cpuRead();
            } else if (r < 58) {
                cpuWrite();
            } else if (r < 70) {
                release();
            } else if (r < 75) {
                heldJob();
            } else if (r < 79) {
                heapJob();
            } else if (r < 81) {
                closeOne();
            } else if (live.size() < LIVE_TARGET + 4) {
                acquire();
            } else {
                readJob();
            }
        }

        private long nextSeed() {
            return ++seeds;
        }

        private List<Buf> pick(int max) {
            int n = 1 + rnd.nextInt(Math.min(max, live.size()));
            List<Buf> copy = new ArrayList<>(live);
            List<Buf> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(copy.remove(rnd.nextInt(copy.size())));
            }
            return out;
        }

        private List<PanfrostBo> bos(List<Buf> bufs) {
            List<PanfrostBo> out = new ArrayList<>();
            for (Buf b : bufs) {
                out.add(b.bo);
            }
            return out;
        }

        /** Submits a job; null when refused with ENOMEM (counted). */
        private Job submit(String name, List<PanfrostBo> bos, GpuWork work, boolean hold) {
            try {
                return client.submit(client.name() + "-" + name, bos, work, hold);
            } catch (GemException e) {
                if (e.errno() == Errno.ENOMEM) {
                    submitEnomem.increment();
                    return null;
                }
                throw e;
            }
        }

        /** Waits for a job (bounded); false (recorded as a failure) when it did not finish DONE. */
        private boolean finish(Job j) throws InterruptedException {
            if (!j.await(5, TimeUnit.SECONDS)) {
                integrityFailures.add(j + " did not finish within 5 s");
                return false;
            }
            jobsRun.increment();
            if (j.status() != Job.Status.DONE) {
                integrityFailures.add(j + " failed: " + j.error().map(Throwable::toString).orElse("?"));
                return false;
            }
            return true;
        }

        private void compare(String what, Buf b, long seed, byte[] got) {
            int at = firstMismatch(seed, got);
            if (at >= 0) {
                integrityFailures.add(client.name() + ": " + what + " of " + b.bo.name() + " (seed " + seed
                        + ", madv " + b.bo.shmem().madv() + ") differs at byte " + at + ": got " + got[at]);
            } else {
                verifiedBytes.add(got.length);
            }
        }

        // ------------------------------------------------------------------ GPU jobs

        private void writeJob() throws InterruptedException {
            List<Buf> bufs = pick(3);
            long[] next = new long[bufs.size()];
            byte[][] data = new byte[bufs.size()][];
            long[] vas = new long[bufs.size()];
            for (int i = 0; i < bufs.size(); i++) {
                next[i] = nextSeed();
                data[i] = pattern(next[i], (int) bufs.get(i).bo.size());
                vas[i] = client.mapping(bufs.get(i).bo).va();
            }
            Job j = submit("write", bos(bufs), ctx -> {
                for (int i = 0; i < vas.length; i++) {
                    ctx.write(vas[i], data[i]);
                }
            }, false);
            if (j != null && finish(j)) {
                for (int i = 0; i < bufs.size(); i++) {
                    bufs.get(i).seed = next[i];
                }
            }
        }

        private void readJob() throws InterruptedException {
            List<Buf> bufs = pick(3);
            byte[][] got = new byte[bufs.size()][];
            long[] vas = new long[bufs.size()];
            for (int i = 0; i < bufs.size(); i++) {
                got[i] = new byte[(int) bufs.get(i).bo.size()];
                vas[i] = client.mapping(bufs.get(i).bo).va();
            }
            Job j = submit("read", bos(bufs), ctx -> {
                for (int i = 0; i < vas.length; i++) {
                    ctx.read(vas[i], got[i]);
                }
            }, false);
            if (j != null && finish(j)) {
                for (int i = 0; i < bufs.size(); i++) {
                    compare("GPU read", bufs.get(i), bufs.get(i).seed, got[i]);
                }
            }
        }

        private void readThenWriteJob() throws InterruptedException {
            List<Buf> bufs = pick(2);
            byte[][] got = new byte[bufs.size()][];
            byte[][] data = new byte[bufs.size()][];
            long[] next = new long[bufs.size()];
            long[] vas = new long[bufs.size()];
            for (int i = 0; i < bufs.size(); i++) {
                got[i] = new byte[(int) bufs.get(i).bo.size()];
                next[i] = nextSeed();
                data[i] = pattern(next[i], got[i].length);
                vas[i] = client.mapping(bufs.get(i).bo).va();
            }
            Job j = submit("read-write", bos(bufs), ctx -> {
                for (int i = 0; i < vas.length; i++) {
                    ctx.read(vas[i], got[i]);
                    ctx.write(vas[i], data[i]);
                }
            }, false);
            if (j != null && finish(j)) {
                for (int i = 0; i < bufs.size(); i++) {
                    compare("GPU read before write", bufs.get(i), bufs.get(i).seed, got[i]);
                    bufs.get(i).seed = next[i];
                }
            }
        }

        /** A held job keeps its BO busy: the shrinker and a direct evict must leave it resident until complete. */
        private void heldJob() throws InterruptedException {
            Buf b = pick(1).get(0);
            byte[] got = new byte[(int) b.bo.size()];
            long va = client.mapping(b.bo).va();
            Job j = submit("held", List.of(b.bo), ctx -> ctx.read(va, got), true);
            if (j == null) {
                return;
            }
            heldJobs.increment();
            boolean dontneed = rnd.nextInt(3) == 0;
            try {
                if (dontneed) {
                    // Mesa may put a BO in its cache while the GPU still uses it: purgeable once idle, not before.
                    if (!client.madvise(b.bo, Madv.DONTNEED)) {
                        integrityFailures.add(b.bo.name() + " was not retained while WILLNEED");
                    }
                    live.remove(b);
                    cache.addLast(b);
                }
                dev.gem().shrinker().scan(RAM_PAGES);
                try {
                    b.bo.evict();
                    integrityFailures.add(b.bo.name() + " was evicted while busy");
                } catch (GemException e) {
                    if (e.errno() != Errno.EBUSY) {
                        throw e;
                    }
                }
                if (!b.bo.shmem().isResident() || b.bo.shmem().madv() == Madv.PURGED) {
                    integrityFailures.add(b.bo.name() + " was reclaimed while busy: madv " + b.bo.shmem().madv()
                            + ", resident " + b.bo.shmem().isResident());
                }
            } finally {
                j.complete();
            }
            jobsRun.increment();
            if (j.status() != Job.Status.DONE) {
                integrityFailures.add(j + " failed: " + j.error().map(Throwable::toString).orElse("?"));
            } else {
                compare("held GPU read", b, b.seed, got);
            }
            trimCache();
        }

        /** A heap BO grown by GPU faults inside a job (one chunk, sometimes two), then freed. */
        private void heapJob() throws InterruptedException {
            if (!heapSlot.tryAcquire()) {
                return;
            }
            try {
                PanfrostBo heap;
                try {
                    heap = client.createBo(null, HEAP_CHUNKS * SZ_2M, BoFlags.HEAP | BoFlags.NOEXEC);
                } catch (GemException e) {
                    throw new AssertionError("a heap BO needs no memory to create", e);
                }
                try {
                    heapJobs.increment();
                    long hva = client.mapping(heap).va();
                    int k1 = rnd.nextInt(HEAP_CHUNKS);
                    long o1 = k1 * SZ_2M + rnd.nextInt(400) * (long) PAGE + rnd.nextInt(PAGE);
                    long o2 = k1 * SZ_2M + rnd.nextInt(500) * (long) PAGE; // same chunk: no new fault
                    boolean two = rnd.nextInt(5) == 0;
                    long o3 = ((k1 + 1) % HEAP_CHUNKS) * SZ_2M + rnd.nextInt(500) * (long) PAGE;
                    long s1 = nextSeed();
                    long s2 = nextSeed();
                    byte[] d1 = pattern(s1, 3 * PAGE);
                    byte[] d2 = pattern(s2, 100);
                    byte[] b1 = new byte[d1.length];
                    byte[] b2 = new byte[d2.length];
                    Job j = submit("heap", List.of(heap), ctx -> {
                        ctx.write(hva + o1, d1);
                        ctx.write(hva + o2, d2);
                        if (two) {
                            ctx.write(hva + o3, d2);
                        }
                        ctx.read(hva + o1, b1);
                        ctx.read(hva + o2, b2);
                    }, false);
                    if (j == null) {
                        return;
                    }
                    if (!j.await(5, TimeUnit.SECONDS)) {
                        integrityFailures.add(j + " did not finish within 5 s");
                        return;
                    }
                    jobsRun.increment();
                    if (j.status() == Job.Status.FAULTED) {
                        Throwable cause = j.error().map(Throwable::getCause).orElse(null);
                        if (cause instanceof GemException g && g.errno() == Errno.ENOMEM) {
                            heapFaultEnomem.increment();
                        } else {
                            integrityFailures.add(j + " faulted: " + j.error().map(Throwable::toString).orElse("?"));
                        }
                        return;
                    }
                    // o2's write may overlap o1's: the later write wins.
                    byte[] want1 = d1.clone();
                    long lo = Math.max(o1, o2);
                    long hi = Math.min(o1 + d1.length, o2 + d2.length);
                    for (long x = lo; x < hi; x++) {
                        want1[(int) (x - o1)] = d2[(int) (x - o2)];
                    }
                    if (!java.util.Arrays.equals(b1, want1) || !java.util.Arrays.equals(b2, d2)) {
                        integrityFailures.add(j + ": heap bytes differ");
                    } else {
                        verifiedBytes.add(b1.length + b2.length);
                    }
                } finally {
                    client.close(heap);
                }
            } finally {
                heapSlot.release();
            }
        }

        // ------------------------------------------------------------------ CPU access

        private void cpuRead() {
            Buf b = pick(1).get(0);
            byte[] got = new byte[(int) b.bo.size()];
            try {
                b.bo.read(0, got);
            } catch (GemException e) {
                if (e.errno() == Errno.ENOMEM) {
                    cpuEnomem.increment();
                    return;
                }
                throw e;
            }
            compare("CPU read", b, b.seed, got);
        }

        private void cpuWrite() {
            Buf b = pick(1).get(0);
            long next = nextSeed();
            try {
                b.bo.write(0, pattern(next, (int) b.bo.size()));
            } catch (GemException e) {
                if (e.errno() == Errno.ENOMEM) {
                    cpuEnomem.increment(); // the mapping failed before anything was written
                    return;
                }
                throw e;
            }
            b.seed = next;
        }

        // ------------------------------------------------------------------ the BO cache

        /** Marks an idle BO DONTNEED and puts it in the cache. */
        private void release() {
            if (live.size() <= 2) {
                return;
            }
            Buf b = pick(1).get(0);
            if (!client.madvise(b.bo, Madv.DONTNEED)) {
                integrityFailures.add(b.bo.name() + " was not retained while WILLNEED");
            }
            live.remove(b);
            cache.addLast(b);
            trimCache();
        }

        private void trimCache() {
            while (cache.size() > CACHE_MAX) {
                client.close(cache.pollFirst().bo);
            }
        }

        /** Takes a BO from the cache (WILLNEED; recreated when purged) or creates one. */
        private void acquire() throws InterruptedException {
            Buf b = cache.isEmpty() || rnd.nextInt(10) < 3 ? null : cache.pollLast();
            if (b != null) {
                if (client.madvise(b.bo, Madv.WILLNEED)) {
                    cacheHits.increment();
                    verifyRetained(b);
                    live.add(b);
                    return;
                }
                cacheMissesPurged.increment();
                if (b.bo.shmem().madv() != Madv.PURGED) {
                    integrityFailures.add(b.bo.name() + " not retained but madv " + b.bo.shmem().madv());
                }
                long size = b.bo.size();
                client.close(b.bo);
                create(size);
            } else {
                create((MIN_PAGES + rnd.nextInt(MAX_PAGES - MIN_PAGES + 1)) * (long) PAGE);
            }
        }

        /** A retained BO keeps its contents: check them through the GPU or the CPU. */
        private void verifyRetained(Buf b) throws InterruptedException {
            byte[] got = new byte[(int) b.bo.size()];
            if (rnd.nextBoolean()) {
                long va = client.mapping(b.bo).va();
                Job j = submit("verify-retained", List.of(b.bo), ctx -> ctx.read(va, got), false);
                if (j != null && finish(j)) {
                    compare("GPU read after WILLNEED", b, b.seed, got);
                }
            } else {
                try {
                    b.bo.read(0, got);
                    compare("CPU read after WILLNEED", b, b.seed, got);
                } catch (GemException e) {
                    if (e.errno() != Errno.ENOMEM) {
                        throw e;
                    }
                    cpuEnomem.increment();
                }
            }
        }

        private void create(long size) {
            PanfrostBo bo;
            try {
                bo = client.createBo(null, size, rnd.nextInt(4) == 0 ? 0 : BoFlags.NOEXEC);
            } catch (GemException e) {
                if (e.errno() == Errno.ENOMEM) {
                    createEnomem.increment();
                    return;
                }
                throw e;
            }
            Buf b = new Buf(bo, 0);
            live.add(b);
            if (rnd.nextInt(4) == 0) {
                byte[] got = new byte[(int) size];
                try {
                    bo.read(0, got);
                    compare("new BO read", b, 0, got);
                } catch (GemException e) {
                    if (e.errno() != Errno.ENOMEM) {
                        throw e;
                    }
                    cpuEnomem.increment();
                }
            }
        }

        private void closeOne() {
            if (live.size() <= 2) {
                return;
            }
            Buf b = pick(1).get(0);
            live.remove(b);
            client.close(b.bo);
        }

        // ------------------------------------------------------------------ the end

        /** Verifies every surviving BO (single-threaded, after the run); returns how many were checked. */
        long finalVerify() throws InterruptedException {
            long checked = 0;
            for (Buf b : cache) {
                if (client.madvise(b.bo, Madv.WILLNEED)) {
                    live.add(b);
                } else {
                    cacheMissesPurged.increment();
                }
            }
            cache.clear();
            for (Buf b : live) {
                byte[] got = new byte[(int) b.bo.size()];
                long va = client.mapping(b.bo).va();
                Job j = client.submit(client.name() + "-final", List.of(b.bo), ctx -> ctx.read(va, got), false);
                if (finish(j)) {
                    compare("final GPU read", b, b.seed, got);
                }
                byte[] cpu = new byte[got.length];
                b.bo.read(0, cpu);
                compare("final CPU read", b, b.seed, cpu);
                checked++;
            }
            return checked;
        }
    }
}
