package dev.gemshrink.drivers;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.panfrost.PanfrostUnderTest;
import dev.gemshrink.panthor.PanthorUnderTest;
import dev.gemshrink.testing.DriverUnderTest;
import dev.gemshrink.testing.DriverUnderTest.Bo;
import dev.gemshrink.testing.DriverUnderTest.Client;
import dev.gemshrink.testing.DriverUnderTest.Device;
import dev.gemshrink.testing.DriverUnderTest.Hold;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.Validate;

/**
 * The operations {@link DriverLincheckTest} model checks on each driver: BOs created, used by the CPU (swapping them
 * in), pinned, and freed through the driver, racing the device shrinker's scan, on a device whose RAM holds every BO a
 * scenario can make (so no interleaving runs out of memory) and whose shrinker evicts to swap.
 *
 * <p>Results are coarse, as in the core's shrinker model check: a scan is not atomic across BOs, and a BO that one
 * thread is freeing stays usable until its last reference goes, so no sequential order explains a refusal. Each
 * operation answers "ok" (done, or refused with ENOENT because the BO is gone) or "bad:..." when it saw bytes other
 * than the BO's, a pinned BO that was not resident, or an unexpected errno; any "bad" fails the check. The real
 * checks are those answers, the {@link Validate} method (the driver's checker, the core's invariants included, finds
 * nothing after each part), and the absence of deadlocks and unexpected exceptions.
 *
 * <p>Lincheck makes a new instance, hence a new device, for every interleaving and never closes it: a Panfrost
 * device's GPU thread (a daemon, idle since no job is submitted) stays parked until the JVM exits.
 */
public abstract class DriverScenario {
    private static final int PAGE = DriverTesting.PAGE;
    private static final int BOS = 2;

    private final Device dev;
    private final Client client;
    private final Bo[] bos = new Bo[BOS];
    // What each BO holds, and what a new BO is written with: made here, outside the analysis, whose switch points
    // inside a filling loop would look like a thread spinning.
    private final byte[][] contents = new byte[BOS][];
    private final byte[] fresh = contents(BOS, PAGE);

    /**
     * Opens the device with a client and two BOs of one page, each filled with its own bytes, the second evicted.
     *
     * @param driver the driver
     */
    protected DriverScenario(DriverUnderTest driver) {
        dev = driver.open(8, SwapStore.inMemory(16), LeakDetection.SIMPLE);
        client = dev.openClient("c");
        for (int i = 0; i < BOS; i++) {
            bos[i] = client.createBo("bo" + i, (long) PAGE);
            contents[i] = contents(i, PAGE);
            bos[i].write(0, contents[i]);
        }
        bos[1].reclaim();
    }

    /** The Panfrost-like driver's scenarios. */
    public static final class OnPanfrost extends DriverScenario {
        /** Opens the scenario's device. */
        public OnPanfrost() {
            super(PanfrostUnderTest.DRIVER);
        }
    }

    /** The Panthor-like driver's scenarios. */
    public static final class OnPanthor extends DriverScenario {
        /** Opens the scenario's device. */
        public OnPanthor() {
            super(PanthorUnderTest.DRIVER);
        }
    }

    /** The bytes of BO {@code seed}: computed, not drawn (under Lincheck, {@code Random} draws other values). */
    private static byte[] contents(long seed, int length) {
        byte[] b = new byte[length];
        for (int k = 0; k < length; k++) {
            b[k] = (byte) (seed * 67 + k * 31 + (k >> 8));
        }
        return b;
    }

    /** Asks the device shrinker for up to 8 pages (it evicts idle BOs to swap). */
    @Operation
    public void scan() {
        dev.shrink(8);
    }

    /**
     * Reads a BO by the CPU (swapping it in when evicted).
     *
     * @param i the BO
     * @return "ok", or "bad:..." when the bytes differ
     */
    @Operation
    public String use(@Param(gen = IntGen.class, conf = "0:1") int i) {
        return answer(() -> {
            byte[] got = new byte[PAGE];
            bos[i].read(0, got);
            return Arrays.equals(got, contents[i]) ? "ok" : "bad:bytes of bo" + i;
        });
    }

    /**
     * Pins a BO, checks under the pin that it is resident and holds its bytes, and unpins.
     *
     * @param i the BO
     * @return "ok", or "bad:..." when the pinned BO was not resident or its bytes differ
     */
    @Operation
    public String pin(@Param(gen = IntGen.class, conf = "0:1") int i) {
        return answer(() -> {
            Hold h = bos[i].pin();
            try {
                byte[] got = new byte[PAGE];
                bos[i].read(0, got);
                return !bos[i].isResident() ? "bad:pinned bo" + i + " not resident"
                        : Arrays.equals(got, contents[i]) ? "ok" : "bad:bytes of pinned bo" + i;
            } finally {
                h.close();
            }
        });
    }

    /**
     * Frees a BO through the driver.
     *
     * @param i the BO
     * @return "ok" (freed now or before)
     */
    @Operation
    public String free(@Param(gen = IntGen.class, conf = "0:1") int i) {
        return answer(() -> {
            bos[i].free();
            return "ok";
        });
    }

    /**
     * Creates a one-page BO, writes it, reads it back and frees it.
     *
     * @return "ok", or "bad:..." when the bytes differ
     */
    @Operation
    public String createUseFree() {
        return answer(() -> {
            Bo bo = client.createBo(null, PAGE);
            try {
                bo.write(0, fresh);
                byte[] got = new byte[PAGE];
                bo.read(0, got);
                return Arrays.equals(got, fresh) ? "ok" : "bad:bytes of a new BO";
            } finally {
                bo.free();
            }
        });
    }

    /** Runs an operation: ENOENT (the BO is gone) is "ok", another errno "bad". */
    private static String answer(Supplier<String> op) {
        try {
            return op.get();
        } catch (GemException e) {
            return e.errno() == Errno.ENOENT ? "ok" : "bad:" + e.errno();
        }
    }

    /** Fails when the driver's checker (the core's invariants included) finds any violation. */
    @Validate
    public void checkInvariants() {
        List<Violation> v = dev.check();
        if (!v.isEmpty()) {
            throw new AssertionError("invariant violations: " + v);
        }
    }
}
