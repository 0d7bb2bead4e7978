package dev.gemshrink.bench;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.reclaim.ShrinkerRegistry;
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
 * A shrinker's count through its registry registration (the debugfs {@code count} read, the call Linux's
 * shrink_slab makes before every scan) with {@code objects} live objects of 1 page, every other one DONTNEED.
 * gemshrink reads the LRUs' page totals; baseline A walks its DONTNEED list under the global mutex.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Threads(1)
public class CountBench {

    @State(Scope.Benchmark)
    public static class Ours {
        @Param({"1000", "100000", "1000000"})
        public int objects;

        GemDevice dev;
        ShrinkerRegistry.Registration reg;

        @Setup(Level.Trial)
        public void setup() {
            dev = Populations.oursDevice(objects + 1024);
            for (int i = 0; i < objects; i++) {
                Populations.ours(dev, 1, i % 2 == 0);
            }
            reg = dev.shrinker();
            if (reg.count() != (objects + 1) / 2) {
                throw new IllegalStateException("count " + reg.count() + " for " + objects + " objects");
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            dev.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Theirs {
        @Param({"1000", "100000", "1000000"})
        public int objects;

        OldPanfrost.Device dev;
        ShrinkerRegistry.Registration reg;
        OldPanfrost.Bo[] keep;

        @Setup(Level.Trial)
        public void setup() {
            dev = Populations.oldDevice(objects + 1024);
            keep = new OldPanfrost.Bo[objects];
            for (int i = 0; i < objects; i++) {
                keep[i] = Populations.old(dev, 1, i % 2 == 0);
            }
            reg = new ShrinkerRegistry().register(dev.shrinker);
            if (reg.count() != (objects + 1) / 2) {
                throw new IllegalStateException("count " + reg.count() + " for " + objects + " objects");
            }
        }
    }

    @Benchmark
    public long ours(Ours s) {
        return s.reg.count();
    }

    @Benchmark
    public long panfrost(Theirs s) {
        return s.reg.count();
    }
}
