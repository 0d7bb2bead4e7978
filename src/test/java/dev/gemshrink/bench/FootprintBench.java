package dev.gemshrink.bench;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ShmemObject;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jol.info.GraphLayout;
import org.openjdk.jol.util.Multiset;

/**
 * Memory per object: the bytes of bookkeeping one buffer object costs beyond its page data, for gemshrink and
 * baseline A, measured once in setup two ways and reported as the secondary results of a trivial benchmark (ignore
 * its primary score, the time of two field stores). JMH adds event counters up over the measurement iterations, so
 * each iteration reports value / iterations and the summary line shows the value itself:
 *
 * <ul>
 *   <li>{@code jolBytesPerBo}: JOL walks the whole graph reachable from (device, array of N objects) with N = 10,000
 *       and with N = 0, on identically configured devices; the difference, minus the holding array's 4 bytes per
 *       slot, divided by N. Everything the object drags in is counted: the object, its locks, its name, its owner
 *       objects, its frame array, its entry in the device's object set. The per-class breakdown is printed to the
 *       benchmark log.</li>
 *   <li>{@code heapBytesPerBo}: the used heap after full GCs before and after creating 10^6 objects, per object,
 *       minus the holding array's 4 bytes per slot.</li>
 * </ul>
 * Objects are of 1 page, resident, with their stored sg table, every other one DONTNEED (so both LRUs and baseline
 * A's list hold objects). The frame array (4 bytes per page) is included: for 1 page it is a 24-byte int[1].
 * Frames come from a {@link SharedFrameBacking}, whose size is the same with and without the objects, so the 4 KiB
 * pages themselves are not counted.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 1, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms3g", "-Xmx3g", "-Djdk.attach.allowAttachSelf=true"})
@Threads(1)
public class FootprintBench {
    static final int JOL_OBJECTS = 10_000;
    static final int HEAP_OBJECTS = 1_000_000;

    /** gemshrink's bytes per object. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Ours {
        public double jolBytesPerBo;
        public double heapBytesPerBo;
        double jol; // this iteration's share of the value (see share)
        double heap;

        @Setup(Level.Trial)
        public void setup(BenchmarkParams bp) {
            jol = share(jolPerObject("gemshrink", OURS), bp);
            heap = share(heapPerObject(OURS), bp);
        }
    }

    /** Baseline A's bytes per object. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Theirs {
        public double jolBytesPerBo;
        public double heapBytesPerBo;
        double jol; // this iteration's share of the value (see share)
        double heap;

        @Setup(Level.Trial)
        public void setup(BenchmarkParams bp) {
            jol = share(jolPerObject("baseline A", THEIRS), bp);
            heap = share(heapPerObject(THEIRS), bp);
        }
    }

    /** Builds a device (frames sized for the largest run), then fills it with objects. */
    interface Population {
        Object device();

        Object[] fill(Object device, int n);
    }

    static final Population OURS = new Population() {
        @Override
        public Object device() {
            return Populations.oursDevice(HEAP_OBJECTS + 1024);
        }

        @Override
        public Object[] fill(Object device, int n) {
            GemDevice d = (GemDevice) device;
            ShmemObject[] objs = new ShmemObject[n];
            for (int i = 0; i < n; i++) {
                objs[i] = Populations.ours(d, 1, i % 2 == 0);
            }
            return objs;
        }
    };

    static final Population THEIRS = new Population() {
        @Override
        public Object device() {
            return Populations.oldDevice(HEAP_OBJECTS + 1024);
        }

        @Override
        public Object[] fill(Object device, int n) {
            OldPanfrost.Device d = (OldPanfrost.Device) device;
            OldPanfrost.Bo[] objs = new OldPanfrost.Bo[n];
            for (int i = 0; i < n; i++) {
                objs[i] = Populations.old(d, 1, i % 2 == 0);
            }
            return objs;
        }
    };

    /** JOL graph of (device, objects) with n and with 0 objects; prints the per-class breakdown per object. */
    static double jolPerObject(String who, Population pop) {
        Object d0 = pop.device();
        Object[] empty = pop.fill(d0, 0);
        Object d1 = pop.device();
        Object[] full = pop.fill(d1, JOL_OBJECTS);
        GraphLayout g0 = GraphLayout.parseInstance(d0, empty);
        GraphLayout g1 = GraphLayout.parseInstance(d1, full);
        long arraySlots = 4L * JOL_OBJECTS; // the holding array's extra slots (compressed references)
        double per = (double) (g1.totalSize() - g0.totalSize() - arraySlots) / JOL_OBJECTS;
        Map<String, double[]> rows = new TreeMap<>();
        Multiset<Class<?>> c0 = g0.getClassCounts();
        Multiset<Class<?>> s0 = g0.getClassSizes();
        Multiset<Class<?>> c1 = g1.getClassCounts();
        Multiset<Class<?>> s1 = g1.getClassSizes();
        List<Class<?>> classes = new ArrayList<>(c1.keys());
        for (Class<?> k : classes) {
            long dc = c1.count(k) - c0.count(k);
            long ds = s1.count(k) - s0.count(k);
            if (dc != 0 || ds != 0) {
                rows.put(k.getName(), new double[] {(double) dc / JOL_OBJECTS, (double) ds / JOL_OBJECTS});
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%n[footprint] %s: %.1f bytes per BO (JOL, %d objects); per-class delta per BO:%n",
                who, per, JOL_OBJECTS));
        for (Map.Entry<String, double[]> e : rows.entrySet()) {
            sb.append(String.format("[footprint]   %-70s %8.3f objects %10.2f bytes%n", e.getKey(),
                    e.getValue()[0], e.getValue()[1]));
        }
        System.out.print(sb);
        return per;
    }

    /** Used heap after full GCs, before and after building n objects, per object. */
    static double heapPerObject(Population pop) {
        Object device = pop.device();
        long before = usedAfterGc();
        Object[] full = pop.fill(device, HEAP_OBJECTS);
        long after = usedAfterGc();
        long holdingArray = 16 + 4L * HEAP_OBJECTS; // the benchmark's array of the objects (compressed references)
        double per = (double) (after - before - holdingArray) / HEAP_OBJECTS;
        System.out.printf("%n[footprint] heap delta over %d objects: %.1f bytes per BO%n", HEAP_OBJECTS, per);
        if (full.length == 0 || device == null) {
            throw new AssertionError(); // keeps the device and the objects reachable until here
        }
        return per;
    }

    static long usedAfterGc() {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    /** The share of a value one measurement iteration reports, so that JMH's sum over iterations is the value. */
    static double share(double value, BenchmarkParams bp) {
        return value / Math.max(1, bp.getMeasurement().getCount());
    }

    @Benchmark
    public double ours(Ours s) {
        s.jolBytesPerBo = s.jol; // JMH zeroes event counters before each iteration; set them during it
        s.heapBytesPerBo = s.heap;
        return s.jol;
    }

    @Benchmark
    public double panfrost(Theirs s) {
        s.jolBytesPerBo = s.jol;
        s.heapBytesPerBo = s.heap;
        return s.jol;
    }
}
