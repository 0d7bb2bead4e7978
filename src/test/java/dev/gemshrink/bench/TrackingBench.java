package dev.gemshrink.bench;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;
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

/**
 * What reference tracking costs on the hot paths: pin + unpin of a one-page object that is already pinned (the
 * lock-free path, {@code pinUnpinHeld}) and of one that is not (the locked 0 -&gt; 1 -&gt; 0 path with its page use and
 * LRU moves, {@code pinUnpinFirst}), with leak detection SIMPLE (tracking off) and PARANOID (tracking on). Uses only
 * API that predates tracking, so the same class measures an older build for comparison.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TrackingBench {
    /** The device's leak detection level. */
    @Param({"SIMPLE", "PARANOID"})
    public LeakDetection level;

    private GemDevice dev;
    private ShmemObject held;
    private ShmemObject first;
    private AutoCloseable heldPin;

    /** Creates the device and its two objects, each with its stored sg table; one of them pinned. */
    @Setup(Level.Trial)
    public void setup() {
        dev = GemDevice.builder().ramPages(64).leakDetection(level).build();
        held = dev.createObject(PagePool.PAGE_SIZE);
        held.getPagesSgt();
        heldPin = held.pin();
        first = dev.createObject(PagePool.PAGE_SIZE);
        first.getPagesSgt();
    }

    /**
     * Unpins and frees both objects.
     *
     * @throws Exception never: closing a pin throws only when it was closed already
     */
    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        heldPin.close();
        held.free();
        first.free();
        dev.close();
    }

    /** Pin and unpin an object pinned elsewhere: both lock-free. */
    @Benchmark
    public void pinUnpinHeld() {
        held.pin().close();
    }

    /** Pin and unpin an unpinned object: both take the reservation lock and move it between LRUs. */
    @Benchmark
    public void pinUnpinFirst() {
        first.pin().close();
    }
}
