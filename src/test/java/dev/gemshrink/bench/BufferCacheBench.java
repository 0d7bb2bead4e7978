package dev.gemshrink.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.gemshrink.GemException;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.core.VMap;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.reclaim.ReclaimPolicy;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Baseline B: a budgeted buffer cache, gemshrink under each built-in reclaim policy against Caffeine
 * ({@code maximumWeight} + a weigher in pages), on the workload of {@link CacheWorkload}, from 2 threads. One run
 * measures every pair of {@code cache} ({@code caffeine} or a policy name) and {@code refillMicrosPerPage} (the
 * cost of refilling a buffer after a miss, busy-spun per page). The score is accesses per second (both threads);
 * the secondary results {@code accesses} and {@code misses} (per second, both threads, counted in each iteration
 * with {@code @AuxCounters}) give each iteration's miss ratio as misses / accesses. {@link BufferCacheRatios} runs
 * this benchmark and prints, from that one run, each configuration's throughput and miss ratio with error bars and
 * each policy's ratios to Caffeine at the same refill cost.
 *
 * <ul>
 *   <li>{@code caffeine}: {@code cache.get(id, loader)}; a miss allocates the buffer, refills it (every page written
 *       from a 4 KiB pattern) and spins the refill cost; then one byte per page is read.</li>
 *   <li>a policy ({@code lru}, {@code sieve}, {@code s3fifo}, {@code wtinylfu}): the device, built with that
 *       {@link ReclaimPolicy}, has the same budget (real heap frames); an access is madvise(WILLNEED) (not retained =
 *       purged = miss), vmap (the CPU mapping holds a pin), read one byte per page, vunmap, madvise(DONTNEED) (idle
 *       release). A miss frees the purged object, creates a new one, takes its stored sg table (allocating its
 *       pages, which runs direct reclaim through the registry when the budget is full: the shrinker purges DONTNEED
 *       buffers in the policy's order), refills it through a mapping and spins the refill cost.</li>
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms3g", "-Xmx3g"})
@Threads(2)
public class BufferCacheBench {
    private static final int STRIPES = 1024;
    /** The {@code cache} parameter's value that selects Caffeine instead of a gemshrink device. */
    static final String CAFFEINE = "caffeine";

    /** The cache under test and its refill cost. */
    @State(Scope.Benchmark)
    public static class Contender {
        /** {@value #CAFFEINE}, or the name of a built-in reclaim policy ({@link ReclaimPolicy#builtIns()}). */
        @Param({CAFFEINE, "lru", "sieve", "s3fifo", "wtinylfu"})
        public String cache;

        /** Microseconds of CPU a miss spends per page refilled, on top of writing the page. */
        @Param({"0", "1", "10"})
        public int refillMicrosPerPage;

        CacheWorkload w;
        Cache<Integer, byte[]> caffeine;
        Integer[] keys;
        GemDevice dev;
        AtomicReferenceArray<ShmemObject> slots;
        final Object[] stripes = new Object[STRIPES];

        @Setup(Level.Trial)
        public void setup() {
            w = CacheWorkload.get();
            if (cache.equals(CAFFEINE)) {
                caffeine = Caffeine.newBuilder()
                        .maximumWeight(w.budgetPages)
                        .weigher((Integer k, byte[] v) -> v.length >>> PagePool.PAGE_SHIFT)
                        .build();
                keys = new Integer[CacheWorkload.BUFFERS];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = i; // boxed once, so the benchmark does not measure Integer allocation
                }
                return;
            }
            ReclaimPolicy policy = ReclaimPolicy.named(cache)
                    .orElseThrow(() -> new IllegalStateException("no built-in reclaim policy named " + cache));
            dev = GemDevice.builder().name("cache-" + cache).ramPages(w.budgetPages).reclaimPolicy(policy).build();
            slots = new AtomicReferenceArray<>(CacheWorkload.BUFFERS);
            for (int i = 0; i < STRIPES; i++) {
                stripes[i] = new Object();
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (dev != null) {
                dev.close();
            }
        }
    }

    /** Per-thread position in the access stream and the miss / access counters of the iteration. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counters {
        public long accesses;
        public long misses;
        int pos;
        int[] stream;
        Function<Integer, byte[]> loader;

        @Setup(Level.Trial)
        public void setup(ThreadParams tp, Contender c) {
            CacheWorkload w = c.w;
            stream = w.stream;
            pos = (int) ((long) tp.getThreadIndex() * CacheWorkload.STREAM / Math.max(1, tp.getThreadCount()));
            loader = id -> {
                misses++;
                byte[] b = fill(w, w.pages[id]);
                spinRefill(c.refillMicrosPerPage, w.pages[id]);
                return b;
            };
        }

        @Setup(Level.Iteration)
        public void reset() {
            accesses = 0;
            misses = 0;
        }

        int next() {
            pos = (pos + 1) & (CacheWorkload.STREAM - 1);
            return stream[pos];
        }
    }

    static byte[] fill(CacheWorkload w, int pages) {
        byte[] b = new byte[pages << PagePool.PAGE_SHIFT];
        for (int p = 0; p < pages; p++) {
            System.arraycopy(w.pattern, 0, b, p << PagePool.PAGE_SHIFT, PagePool.PAGE_SIZE);
        }
        return b;
    }

    /**
     * Spends the refill cost of {@code pages} pages on the CPU: a busy spin against {@link System#nanoTime()}, so the
     * time is the one asked for whatever the machine (a sleep would free the core and cost tens of microseconds).
     */
    static void spinRefill(int microsPerPage, int pages) {
        if (microsPerPage == 0) {
            return;
        }
        long end = System.nanoTime() + TimeUnit.MICROSECONDS.toNanos((long) microsPerPage * pages);
        while (System.nanoTime() - end < 0) {
            Thread.onSpinWait();
        }
    }

    /** One access to the buffer the stream names next, through the cache under test. */
    @Benchmark
    public int access(Contender c, Counters t) {
        int id = t.next();
        return c.caffeine != null ? caffeineAccess(c, id, t) : gemAccess(c, id, t);
    }

    static int caffeineAccess(Contender c, int id, Counters t) {
        byte[] v = c.caffeine.get(c.keys[id], t.loader);
        int sum = 0;
        for (int p = 0, n = v.length >>> PagePool.PAGE_SHIFT; p < n; p++) {
            sum += v[p << PagePool.PAGE_SHIFT];
        }
        t.accesses++;
        return sum;
    }

    static int gemAccess(Contender c, int id, Counters t) {
        while (true) {
            ShmemObject o = c.slots.get(id);
            if (o == null) {
                recreate(c, id, null, t);
                continue;
            }
            if (!retain(o)) {
                recreate(c, id, o, t);
                continue;
            }
            VMap m;
            try {
                m = o.vmap();
            } catch (GemException e) {
                // Purged (ENOMEM) or freed by another thread's re-creation (ENOENT) since we looked.
                if (o.madv() != Madv.PURGED && !o.isFreed()) {
                    throw e;
                }
                recreate(c, id, o, t);
                continue;
            }
            int sum = 0;
            try {
                for (int p = 0, n = o.pageCount(); p < n; p++) {
                    sum += m.get((long) p << PagePool.PAGE_SHIFT);
                }
            } finally {
                m.close();
            }
            try {
                o.madvise(Madv.DONTNEED);
            } catch (GemException e) {
                // freed by another thread's re-creation after a purge: nothing to release
            }
            t.accesses++;
            return sum;
        }
    }

    private static boolean retain(ShmemObject o) {
        try {
            return o.madvise(Madv.WILLNEED);
        } catch (GemException e) {
            return false; // freed: the slot holds its replacement
        }
    }

    /** Replaces a purged (or absent) buffer, unless another thread already did. */
    private static void recreate(Contender c, int id, ShmemObject stale, Counters t) {
        synchronized (c.stripes[id & (STRIPES - 1)]) {
            if (c.slots.get(id) != stale) {
                return;
            }
            if (stale != null && !stale.isFreed()) {
                stale.free();
            }
            CacheWorkload w = c.w;
            int pages = w.pages[id];
            ShmemObject o = c.dev.createObject((long) pages << PagePool.PAGE_SHIFT);
            o.getPagesSgt();
            try (VMap m = o.vmap()) {
                for (int p = 0; p < pages; p++) {
                    m.write((long) p << PagePool.PAGE_SHIFT, w.pattern, 0, PagePool.PAGE_SIZE);
                }
            }
            spinRefill(c.refillMicrosPerPage, pages);
            c.slots.set(id, o);
            t.misses++;
        }
    }
}
