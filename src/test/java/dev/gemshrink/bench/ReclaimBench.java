package dev.gemshrink.bench;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

/**
 * Reclaiming a fixed 4,096 pages with {@code objects} live objects of 16 pages: every other object is DONTNEED, and
 * every tenth object's lock is held by another thread for the whole trial, so the scanners must skip those (a fifth
 * of the DONTNEED ones). Purge only (no swap), so only the DONTNEED objects can go.
 *
 * <ul>
 *   <li>{@code *Scan}: one call of the shrinker's scan with nr_to_scan = 4,096 (the debugfs {@code scan} write).</li>
 *   <li>{@code *Reclaim}: {@code ShrinkerRegistry.reclaim(4096)}, Linux's shrink_slab loop (count, then scans in
 *       batches of 128, priority 12 down until the target is met), the path an allocation's direct reclaim takes.</li>
 *
 *   <li>{@code *ScanColdCache}: the scan again, but before each invocation (untimed) a 64 MiB buffer (twice the L3
 *       cache) is written through, so at both sizes the objects the scan touches start out of the CPU caches. This is
 *       the control that separates the algorithm's scaling (O(scanned) or not) from cache residency: at 10^3 objects
 *       the whole population fits in L2/L3, at 10^6 it cannot.</li>
 * </ul>
 *
 * <p>What is timed: only the call. Before every invocation ({@code @Setup(Level.Invocation)}, not timed) the objects
 * the previous call purged are freed and replaced by new resident DONTNEED objects of the same size, so every
 * invocation starts from the same population and has the same work. Each invocation checks it freed 4,096 pages.
 * Sample mode: the score is the mean, and the percentiles show the median apart from the invocations a GC pause
 * landed in (at 10^6 objects every young collection has to scan the old objects' references to the new ones).
 *
 * <p>Baseline A never rotates: objects it skips because they are locked stay at the head of its list, and every
 * later scan walks over them again, so its cost drifts up until every locked DONTNEED object sits at the head (100
 * at 10^3, 100,000 at 10^6). To measure steady states rather than that drift, trial setup ages both populations the
 * same way first (see {@link #age}).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms3g", "-Xmx3g"})
@Threads(1)
public class ReclaimBench {
    static final int PAGES = 16;
    static final long TARGET = 4096;

    @State(Scope.Benchmark)
    public static class Ours {
        @Param({"1000", "1000000"})
        public int objects;

        GemDevice dev;
        ShmemObject[] objs;
        ShrinkerRegistry.Registration reg;
        ShrinkerRegistry registry;
        /** Slots of the unlocked DONTNEED objects, in LRU order: what a scan purges is a prefix of it. */
        final ArrayDeque<Integer> purgeOrder = new ArrayDeque<>();
        Populations.Holder holder;

        @Setup(Level.Trial)
        public void setup() {
            dev = Populations.oursDevice(objects * PAGES + 4 * (int) TARGET);
            objs = new ShmemObject[objects];
            List<ShmemObject> locked = new ArrayList<>();
            for (int i = 0; i < objects; i++) {
                boolean dontneed = i % 2 == 0;
                objs[i] = Populations.ours(dev, PAGES, dontneed);
                if (i % 10 == 0) {
                    locked.add(objs[i]);
                } else if (dontneed) {
                    purgeOrder.add(i);
                }
            }
            holder = Populations.Holder.ofResv(locked);
            reg = dev.shrinker();
            registry = dev.shrinkers();
            age(purgeOrder.size(), () -> check(reg.scan(TARGET)), this::replenish);
        }

        @Setup(Level.Invocation)
        public void replenish() {
            Integer i;
            while ((i = purgeOrder.peek()) != null && objs[i].madv() == Madv.PURGED) {
                purgeOrder.poll();
                objs[i].free();
                objs[i] = Populations.ours(dev, PAGES, true);
                purgeOrder.add(i);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            holder.close();
            dev.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Theirs {
        @Param({"1000", "1000000"})
        public int objects;

        OldPanfrost.Device dev;
        OldPanfrost.Bo[] objs;
        ShrinkerRegistry registry;
        ShrinkerRegistry.Registration reg;
        final ArrayDeque<Integer> purgeOrder = new ArrayDeque<>();
        Populations.Holder holder;

        @Setup(Level.Trial)
        public void setup() {
            dev = Populations.oldDevice(objects * PAGES + 4 * (int) TARGET);
            objs = new OldPanfrost.Bo[objects];
            List<java.util.concurrent.locks.ReentrantLock> locked = new ArrayList<>();
            for (int i = 0; i < objects; i++) {
                boolean dontneed = i % 2 == 0;
                objs[i] = Populations.old(dev, PAGES, dontneed);
                if (i % 10 == 0) {
                    locked.add(objs[i].pagesLock);
                } else if (dontneed) {
                    purgeOrder.add(i);
                }
            }
            holder = Populations.Holder.ofLocks(locked);
            registry = new ShrinkerRegistry();
            reg = registry.register(dev.shrinker);
            age(purgeOrder.size(), () -> check(reg.scan(TARGET)), this::replenish);
        }

        @Setup(Level.Invocation)
        public void replenish() {
            Integer i;
            while ((i = purgeOrder.peek()) != null && objs[i].madv == OldPanfrost.PURGED) {
                purgeOrder.poll();
                dev.free(objs[i]);
                objs[i] = Populations.old(dev, PAGES, true);
                purgeOrder.add(i);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            holder.close();
        }
    }

    /**
     * Ages a population (untimed, in trial setup) with the benchmark's own cycle, scan 4,096 then replenish, until
     * every unlocked DONTNEED object it started with has been purged once: every locked object has then been met
     * by a scan at least once. Both designs get the same history; each then sits in its own steady state (gemshrink
     * has rotated the locked objects behind the others, baseline A has them all at the head of its list) instead of
     * drifting towards it during the measurement.
     */
    static void age(int unlockedDontneed, java.util.function.LongSupplier scan, Runnable replenish) {
        long pages = 0;
        while (pages < (long) unlockedDontneed * PAGES) {
            pages += scan.getAsLong();
            replenish.run();
        }
    }

    /** Writes through 64 MiB (twice the L3 cache) so that the population starts out of the CPU caches. */
    static final class Flusher {
        private final byte[] junk = new byte[64 << 20];
        private int round;

        void flush() {
            byte b = (byte) ++round;
            for (int i = 0; i < junk.length; i += 64) {
                junk[i] = b;
            }
        }
    }

    /** Flushes the caches after gemshrink's population is replenished (this state depends on it, so runs after). */
    @State(Scope.Benchmark)
    public static class OursCold {
        final Flusher flusher = new Flusher();

        @Setup(Level.Invocation)
        public void flush(Ours s) {
            flusher.flush();
        }
    }

    /** Flushes the caches after baseline A's population is replenished. */
    @State(Scope.Benchmark)
    public static class TheirsCold {
        final Flusher flusher = new Flusher();

        @Setup(Level.Invocation)
        public void flush(Theirs s) {
            flusher.flush();
        }
    }

    private static long check(long freed) {
        if (freed < TARGET) {
            throw new IllegalStateException("freed only " + freed + " of " + TARGET + " pages");
        }
        return freed;
    }

    @Benchmark
    public long oursScan(Ours s) {
        return check(s.reg.scan(TARGET));
    }

    @Benchmark
    public long oursReclaim(Ours s) {
        return check(s.registry.reclaim(TARGET, false));
    }

    @Benchmark
    public long oursScanColdCache(Ours s, OursCold c) {
        return check(s.reg.scan(TARGET));
    }

    @Benchmark
    public long panfrostScanColdCache(Theirs s, TheirsCold c) {
        return check(s.reg.scan(TARGET));
    }

    @Benchmark
    public long panfrostScan(Theirs s) {
        return check(s.reg.scan(TARGET));
    }

    @Benchmark
    public long panfrostReclaim(Theirs s) {
        return check(s.registry.reclaim(TARGET, false));
    }
}
