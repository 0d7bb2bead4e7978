package dev.gemshrink.bench;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.HeldCall;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.Pin;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.core.VMap;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Hot paths on a resident object while {@code objects} objects are live (1 page each, resident with their stored sg
 * table; every other one DONTNEED, so both LRUs are populated). Each thread works on its own objects, picked from the
 * middle of the population. Run with 1 thread ({@link HotPaths1T}) and 2 threads ({@link HotPaths2T}).
 *
 * <ul>
 *   <li>{@code *Held}: the object already has a pin and a CPU mapping held elsewhere, so pin/vmap move a count that
 *       stays above zero (gemshrink's lock-free path).</li>
 *   <li>{@code *First}: nothing else holds a pin or mapping, so pin/vmap take the count 0 -&gt; 1 -&gt; 0 (the
 *       locked path, with the LRU moves: evictable -&gt; pinned -&gt; evictable). This is what a cache access costs.</li>
 *   <li>{@code getPutPages}: one page use more on an object whose stored sg table holds one (lock-free in
 *       gemshrink).</li>
 *   <li>{@code madviseToggle}: DONTNEED then WILLNEED, each moving the object between LRUs (score is per pair).</li>
 *   <li>{@code oursWith*Held}: the allocation-free form of the lock-free paths: {@code withPin}, {@code withPages}
 *       and {@code withVmap} with a function that does nothing, on an object whose count is already above zero (the
 *       call owns its reference; no owner object). With {@code -prof gc} their {@code gc.alloc.rate.norm} is the
 *       bytes allocated per operation; the owner-object forms ({@code oursPinUnpinHeld}, {@code oursGetPutPages},
 *       {@code oursVmapVunmapHeld}) show what an owner object costs.</li>
 * </ul>
 * The devices use leak detection SIMPLE (reference tracking off), whatever {@code gemshrink.leakDetection} says.
 * Baseline A ({@code panfrost*}) does the same operations on its own objects, the way the 5.x helper does them:
 * every call takes the object's mutex (and madvise the global shrinker mutex), whatever the count.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public abstract class HotPaths {
    /** How many objects each thread gets (held, first, madvise), for up to this many threads. */
    static final int MAX_THREADS = 4;

    /** gemshrink: the device and its live objects. */
    @State(Scope.Benchmark)
    public static class Ours {
        @Param({"1000", "1000000"})
        public int objects;

        GemDevice dev;
        ShmemObject[] objs;
        Pin[] heldPins;
        VMap[] heldMaps;

        @Setup(Level.Trial)
        public void setup() {
            dev = Populations.oursDevice(objects + 1024);
            objs = new ShmemObject[objects];
            for (int i = 0; i < objects; i++) {
                objs[i] = Populations.ours(dev, 1, i % 2 == 0);
            }
            heldPins = new Pin[MAX_THREADS];
            heldMaps = new VMap[MAX_THREADS];
            for (int t = 0; t < MAX_THREADS; t++) {
                ShmemObject held = objs[hot(objects, t, 0)];
                heldPins[t] = held.pin();
                heldMaps[t] = held.vmap();
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (int t = 0; t < MAX_THREADS; t++) {
                heldMaps[t].close();
                heldPins[t].close();
            }
            dev.close();
        }
    }

    /** Index of thread t's object of a kind (0 held, 1 first, 2 madvise): odd, so WILLNEED; mid-population. */
    static int hot(int objects, int thread, int kind) {
        return objects / 2 + 2 * (3 * thread + kind) + 1;
    }

    /** gemshrink: one thread's objects. */
    @State(Scope.Thread)
    public static class OursThread {
        ShmemObject held;
        ShmemObject first;
        ShmemObject madv;

        @Setup(Level.Trial)
        public void setup(Ours w, ThreadParams tp) {
            int t = tp.getThreadIndex();
            held = w.objs[hot(w.objects, t, 0)];
            first = w.objs[hot(w.objects, t, 1)];
            madv = w.objs[hot(w.objects, t, 2)];
        }
    }

    /** Baseline A: the device and its live objects. */
    @State(Scope.Benchmark)
    public static class Theirs {
        @Param({"1000", "1000000"})
        public int objects;

        OldPanfrost.Device dev;
        OldPanfrost.Bo[] objs;

        @Setup(Level.Trial)
        public void setup() {
            dev = Populations.oldDevice(objects + 1024);
            objs = new OldPanfrost.Bo[objects];
            for (int i = 0; i < objects; i++) {
                objs[i] = Populations.old(dev, 1, i % 2 == 0);
            }
            for (int t = 0; t < MAX_THREADS; t++) {
                OldPanfrost.Bo held = objs[hot(objects, t, 0)];
                held.pin();
                held.vmap();
            }
        }
    }

    /** Baseline A: one thread's objects. */
    @State(Scope.Thread)
    public static class TheirsThread {
        OldPanfrost.Device dev;
        OldPanfrost.Bo held;
        OldPanfrost.Bo first;
        OldPanfrost.Bo madv;

        @Setup(Level.Trial)
        public void setup(Theirs w, ThreadParams tp) {
            int t = tp.getThreadIndex();
            dev = w.dev;
            held = w.objs[hot(w.objects, t, 0)];
            first = w.objs[hot(w.objects, t, 1)];
            madv = w.objs[hot(w.objects, t, 2)];
        }
    }

    // ------------------------------------------------------------------ gemshrink

    @Benchmark
    public void oursPinUnpinHeld(OursThread t) {
        t.held.pin().close();
    }

    @Benchmark
    public void oursPinUnpinFirst(OursThread t) {
        t.first.pin().close();
    }

    @Benchmark
    public void oursGetPutPages(OursThread t) {
        t.first.getPages().close();
    }

    @Benchmark
    public void oursVmapVunmapHeld(OursThread t) {
        t.held.vmap().close();
    }

    @Benchmark
    public void oursVmapVunmapFirst(OursThread t) {
        t.first.vmap().close();
    }

    /** The function the {@code with} forms run while the reference is held: nothing (non-capturing, one instance). */
    private static final HeldCall<OursThread, OursThread> NOTHING = (obj, arg) -> arg;

    @Benchmark
    public OursThread oursWithPinHeld(OursThread t) {
        return t.held.withPin(NOTHING, t);
    }

    @Benchmark
    public OursThread oursWithPagesHeld(OursThread t) {
        return t.first.withPages(NOTHING, t);
    }

    @Benchmark
    public OursThread oursWithVmapHeld(OursThread t) {
        return t.held.withVmap(NOTHING, t);
    }

    @Benchmark
    public boolean oursMadviseToggle(OursThread t) {
        return t.madv.madvise(Madv.DONTNEED) & t.madv.madvise(Madv.WILLNEED);
    }

    // ------------------------------------------------------------------ baseline A

    @Benchmark
    public void panfrostPinUnpin(TheirsThread t) {
        t.first.pin();
        t.first.unpin();
    }

    @Benchmark
    public int[] panfrostGetPutPages(TheirsThread t) {
        int[] p = t.first.getPages();
        t.first.putPages();
        return p;
    }

    @Benchmark
    public int[] panfrostVmapVunmapHeld(TheirsThread t) {
        int[] v = t.held.vmap();
        t.held.vunmap();
        return v;
    }

    @Benchmark
    public int[] panfrostVmapVunmapFirst(TheirsThread t) {
        int[] v = t.first.vmap();
        t.first.vunmap();
        return v;
    }

    @Benchmark
    public boolean panfrostMadviseToggle(TheirsThread t) {
        return t.dev.madvise(t.madv, OldPanfrost.DONTNEED) & t.dev.madvise(t.madv, OldPanfrost.WILLNEED);
    }
}
