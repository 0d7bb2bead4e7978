package dev.gemshrink.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.gemshrink.GemException;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.core.VMap;
import dev.gemshrink.memory.PagePool;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Baseline B: a budgeted buffer cache, gemshrink against Caffeine ({@code maximumWeight} + a weigher in pages), on
 * the workload of {@link CacheWorkload}, from 2 threads. The score is accesses per millisecond (both threads);
 * the secondary results {@code accesses} and {@code misses} (per iteration, both threads) give the miss ratio.
 *
 * <ul>
 *   <li>{@code caffeine}: {@code cache.get(id, loader)}; a miss allocates the buffer and refills it (every page
 *       written from a 4 KiB pattern); then one byte per page is read.</li>
 *   <li>{@code gemshrink}: the device's RAM budget is the quarter (real heap frames); an access is madvise(WILLNEED)
 *       (not retained = purged = miss), vmap (the CPU mapping holds a pin), read one byte per page, vunmap,
 *       madvise(DONTNEED) (idle release). A miss frees the purged object, creates a new one, takes its stored sg
 *       table (allocating its pages, which runs direct reclaim through the registry when the budget is full: the
 *       shrinker purges DONTNEED buffers, least recently used first) and refills it through a mapping.</li>
 *   <li>{@code gemshrinkPinOnly}: the same without the two madvise calls per access: buffers are DONTNEED from
 *       creation on and an access just maps (pins) them; a purged buffer fails the vmap with ENOMEM, which is the
 *       miss. Same protection (a pinned buffer is never purged), half the locked transitions.</li>
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms3g", "-Xmx3g"})
@Threads(2)
public class BufferCacheBench {
    private static final int STRIPES = 1024;

    /** Per-thread position in the access stream and the miss / access counters. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Counters {
        public long accesses;
        public long misses;
        int pos;
        int[] stream;
        Function<Integer, byte[]> loader;

        @Setup(Level.Trial)
        public void setup(ThreadParams tp) {
            CacheWorkload w = CacheWorkload.get();
            stream = w.stream;
            pos = (int) ((long) tp.getThreadIndex() * CacheWorkload.STREAM / Math.max(1, tp.getThreadCount()));
            loader = id -> {
                misses++;
                return fill(w, w.pages[id]);
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

    /** gemshrink as the cache. */
    @State(Scope.Benchmark)
    public static class Gem {
        CacheWorkload w;
        GemDevice dev;
        AtomicReferenceArray<ShmemObject> slots;
        final Object[] stripes = new Object[STRIPES];

        @Setup(Level.Trial)
        public void setup() {
            w = CacheWorkload.get();
            dev = GemDevice.builder().name("cache").ramPages(w.budgetPages).build();
            slots = new AtomicReferenceArray<>(CacheWorkload.BUFFERS);
            for (int i = 0; i < STRIPES; i++) {
                stripes[i] = new Object();
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            dev.close();
        }
    }

    /** Caffeine as the cache. */
    @State(Scope.Benchmark)
    public static class Caf {
        CacheWorkload w;
        Cache<Integer, byte[]> cache;
        Integer[] keys;

        @Setup(Level.Trial)
        public void setup() {
            w = CacheWorkload.get();
            cache = Caffeine.newBuilder()
                    .maximumWeight(w.budgetPages)
                    .weigher((Integer k, byte[] v) -> v.length >>> PagePool.PAGE_SHIFT)
                    .build();
            keys = new Integer[CacheWorkload.BUFFERS];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = i; // boxed once, so the benchmark does not measure Integer allocation
            }
        }
    }

    static byte[] fill(CacheWorkload w, int pages) {
        byte[] b = new byte[pages << PagePool.PAGE_SHIFT];
        for (int p = 0; p < pages; p++) {
            System.arraycopy(w.pattern, 0, b, p << PagePool.PAGE_SHIFT, PagePool.PAGE_SIZE);
        }
        return b;
    }

    @Benchmark
    public int caffeine(Caf f, Counters c) {
        int id = c.next();
        byte[] v = f.cache.get(f.keys[id], c.loader);
        int sum = 0;
        for (int p = 0, n = v.length >>> PagePool.PAGE_SHIFT; p < n; p++) {
            sum += v[p << PagePool.PAGE_SHIFT];
        }
        c.accesses++;
        return sum;
    }

    @Benchmark
    public int gemshrink(Gem g, Counters c) {
        return gemAccess(g, c.next(), c, true);
    }

    @Benchmark
    public int gemshrinkPinOnly(Gem g, Counters c) {
        return gemAccess(g, c.next(), c, false);
    }

    static int gemAccess(Gem g, int id, Counters c, boolean madvise) {
        while (true) {
            ShmemObject o = g.slots.get(id);
            if (o == null) {
                recreate(g, id, null, c, madvise);
                continue;
            }
            if (madvise && !retain(o)) {
                recreate(g, id, o, c, madvise);
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
                recreate(g, id, o, c, madvise);
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
            if (madvise) {
                try {
                    o.madvise(Madv.DONTNEED);
                } catch (GemException e) {
                    // freed by another thread's re-creation after a purge: nothing to release
                }
            }
            c.accesses++;
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
    private static void recreate(Gem g, int id, ShmemObject stale, Counters c, boolean madvise) {
        synchronized (g.stripes[id & (STRIPES - 1)]) {
            if (g.slots.get(id) != stale) {
                return;
            }
            if (stale != null && !stale.isFreed()) {
                stale.free();
            }
            CacheWorkload w = g.w;
            int pages = w.pages[id];
            ShmemObject o = g.dev.createObject((long) pages << PagePool.PAGE_SHIFT);
            o.getPagesSgt();
            try (VMap m = o.vmap()) {
                for (int p = 0; p < pages; p++) {
                    m.write((long) p << PagePool.PAGE_SHIFT, w.pattern, 0, PagePool.PAGE_SIZE);
                }
            }
            if (!madvise) {
                o.madvise(Madv.DONTNEED);
            }
            g.slots.set(id, o);
            c.misses++;
        }
    }
}
