package dev.gemshrink.bench;

import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.sim.AccessTrace;
import dev.gemshrink.sim.AccessTraceReplay;
import dev.gemshrink.sim.AccessTraceResult;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Requests per second of an access trace replay ({@code simulate --workload trace}) under each built-in reclaim
 * policy (the {@code policy} parameter, one score per policy from one run): one invocation
 * replays a Zipf trace of {@value #REQUESTS} requests (exponent 0.99 over {@value #IDS} one-page objects, fixed seed)
 * on a fresh device of {@code capacity} pages, so every request is a madvise pair plus a CPU access, and every miss
 * a free, a create, an allocation with direct reclaim (a purge) and a write.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Threads(1)
@State(Scope.Benchmark)
public class AccessTraceReplayBench {
    static final int REQUESTS = 100_000;
    static final int IDS = 20_000;

    /** The built-in policies by name ({@link ReclaimPolicy#builtIns()}, in its order). */
    @Param({"lru", "sieve", "s3fifo", "wtinylfu"})
    public String policy;

    @Param({"1000"})
    public int capacity;

    private AccessTrace trace;
    private ReclaimPolicy reclaimPolicy;

    @Setup
    public void setup() {
        reclaimPolicy = ReclaimPolicy.named(policy)
                .orElseThrow(() -> new IllegalStateException("no built-in policy named " + policy));
        double[] cdf = new double[IDS];
        double sum = 0;
        for (int k = 0; k < IDS; k++) {
            sum += 1 / Math.pow(k + 1, 0.99);
            cdf[k] = sum;
        }
        SplittableRandom rnd = new SplittableRandom(42);
        long[] ids = new long[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            int k = Arrays.binarySearch(cdf, rnd.nextDouble() * sum);
            ids[i] = k >= 0 ? k : Math.min(-k - 1, IDS - 1);
        }
        trace = AccessTrace.ofIds(ids);
    }

    /** Replays the whole trace; JMH counts {@value #REQUESTS} operations per call. */
    @Benchmark
    @OperationsPerInvocation(REQUESTS)
    public AccessTraceResult replay() {
        return AccessTraceReplay.run(trace, reclaimPolicy, capacity);
    }
}
