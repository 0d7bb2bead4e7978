package dev.gemshrink.bench;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.locking.AcquireContext;
import dev.gemshrink.locking.LockValidator;
import dev.gemshrink.locking.ResvLock;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What lock-order validation costs on the locked hot paths, off versus strict: a first pin and its unpin (the
 * object's reservation lock and the LRU lock, each taken and released twice) and an acquire context taking and
 * releasing four reservation locks.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class LockValidationBench {
    /** The validator's mode, as the system property spells it. */
    @Param({"off", "strict"})
    public String mode;

    GemDevice dev;
    ShmemObject first;
    List<ResvLock> four;

    /** Puts the mode in force and makes one resident object with nothing holding it, and four locks. */
    @Setup(Level.Trial)
    public void setUp() {
        LockValidator.enable(LockValidator.modeOf(mode));
        dev = GemDevice.builder().ramPages(64).build();
        first = dev.createObject("first", 4096);
        first.pin().close(); // resident, unpinned: the next pin takes the count 0 -> 1
        four = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            four.add(dev.createObject(4096).resv());
        }
    }

    /** Closes the device and turns validation off. */
    @TearDown(Level.Trial)
    public void tearDown() {
        dev.close();
        LockValidator.enable(LockValidator.Mode.OFF);
    }

    /** A first pin and its unpin (the locked path). */
    @Benchmark
    public void pinUnpinFirst() {
        first.pin().close();
    }

    /** lockAll over four reservation locks, then unlockAll. */
    @Benchmark
    public int lockAllFour() {
        try (AcquireContext ctx = new AcquireContext()) {
            ctx.lockAll(four);
            return ctx.held().size();
        }
    }
}
