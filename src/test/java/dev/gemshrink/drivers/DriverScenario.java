package dev.gemshrink.drivers;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.BothDrivers;
import dev.gemshrink.testing.DriverUnderTest;
import dev.gemshrink.testing.DriverUnderTest.Bo;
import dev.gemshrink.testing.DriverUnderTest.Client;
import dev.gemshrink.testing.DriverUnderTest.Device;
import dev.gemshrink.testing.DriverUnderTest.Hold;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.Validate;

/**
 * The operations {@link DriverLincheckTest} model checks, on a device of each driver at once (each operation names
 * its driver, so one model check covers both): BOs created, used by the CPU (swapping them in), pinned, and freed
 * through the driver, racing the device shrinker's scan, on devices whose RAM holds every BO a scenario can make (so
 * no interleaving runs out of memory) and whose shrinkers evict to swap.
 *
 * <p>Results are coarse, as in the core's shrinker model check: a scan is not atomic across BOs, and a BO that one
 * thread is freeing stays usable until its last reference goes, so no sequential order explains a refusal. Each
 * operation answers "ok" (done, or refused with ENOENT because the BO is gone) or "bad:..." when it saw bytes other
 * than the BO's, a pinned BO that was not resident, or an unexpected errno; any "bad" fails the check. The real
 * checks are those answers, the {@link Validate} method (the driver's checker, the core's invariants included, finds
 * nothing after each part), and the absence of deadlocks and unexpected exceptions.
 *
 * <p>Lincheck makes a new instance, hence new devices, for every interleaving and never closes them: a Panfrost
 * device's GPU thread (a daemon, idle since no job is submitted) stays parked until the JVM exits.
 */
public final class DriverScenario {
    private static final int PAGE = DriverTesting.PAGE;
    private static final int BOS = 2;

    private final List<Device> devs = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();
    private final List<Bo[]> bos = new ArrayList<>();
    // What each BO holds, and what a new BO is written with: made here, outside the analysis, whose switch points
    // inside a filling loop would look like a thread spinning.
    private final byte[][] contents = new byte[BOS][];
    private final byte[] fresh = contents(BOS, PAGE);

    /**
     * Opens a device of each driver (in the order of {@link BothDrivers#all()}), each with a client and two BOs of
     * one page, each BO filled with its own bytes, the second evicted.
     */
    public DriverScenario() {
        for (int i = 0; i < BOS; i++) {
            contents[i] = contents(i, PAGE);
        }
        for (DriverUnderTest driver : BothDrivers.all()) {
            Device dev = driver.open(8, SwapStore.inMemory(16), LeakDetection.SIMPLE);
            Client client = dev.openClient("c");
            Bo[] mine = new Bo[BOS];
            for (int i = 0; i < BOS; i++) {
                mine[i] = client.createBo("bo" + i, PAGE);
                mine[i].write(0, contents[i]);
            }
            mine[1].reclaim();
            devs.add(dev);
            clients.add(client);
            bos.add(mine);
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

    /**
     * Asks a device's shrinker for up to 8 pages (it evicts idle BOs to swap).
     *
     * @param d the driver
     */
    @Operation
    public void scan(@Param(gen = IntGen.class, conf = "0:1") int d) {
        devs.get(d).shrink(8);
    }

    /**
     * Reads a BO by the CPU (swapping it in when evicted).
     *
     * @param d the driver
     * @param i the BO
     * @return "ok", or "bad:..." when the bytes differ
     */
    @Operation
    public String use(@Param(gen = IntGen.class, conf = "0:1") int d,
            @Param(gen = IntGen.class, conf = "0:1") int i) {
        Bo bo = bos.get(d)[i];
        return answer(() -> {
            byte[] got = new byte[PAGE];
            bo.read(0, got);
            return Arrays.equals(got, contents[i]) ? "ok" : "bad:bytes of bo" + i;
        });
    }

    /**
     * Pins a BO, checks under the pin that it is resident and holds its bytes, and unpins.
     *
     * @param d the driver
     * @param i the BO
     * @return "ok", or "bad:..." when the pinned BO was not resident or its bytes differ
     */
    @Operation
    public String pin(@Param(gen = IntGen.class, conf = "0:1") int d,
            @Param(gen = IntGen.class, conf = "0:1") int i) {
        Bo bo = bos.get(d)[i];
        return answer(() -> {
            Hold h = bo.pin();
            try {
                byte[] got = new byte[PAGE];
                bo.read(0, got);
                return !bo.isResident() ? "bad:pinned bo" + i + " not resident"
                        : Arrays.equals(got, contents[i]) ? "ok" : "bad:bytes of pinned bo" + i;
            } finally {
                h.close();
            }
        });
    }

    /**
     * Frees a BO through the driver.
     *
     * @param d the driver
     * @param i the BO
     * @return "ok" (freed now or before)
     */
    @Operation
    public String free(@Param(gen = IntGen.class, conf = "0:1") int d,
            @Param(gen = IntGen.class, conf = "0:1") int i) {
        Bo bo = bos.get(d)[i];
        return answer(() -> {
            bo.free();
            return "ok";
        });
    }

    /**
     * Creates a one-page BO, writes it, reads it back and frees it.
     *
     * @param d the driver
     * @return "ok", or "bad:..." when the bytes differ
     */
    @Operation
    public String createUseFree(@Param(gen = IntGen.class, conf = "0:1") int d) {
        return answer(() -> {
            Bo bo = clients.get(d).createBo(null, PAGE);
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

    /** Fails when a driver's checker (the core's invariants included) finds any violation. */
    @Validate
    public void checkInvariants() {
        for (Device dev : devs) {
            List<Violation> v = dev.check();
            if (!v.isEmpty()) {
                throw new AssertionError("invariant violations: " + v);
            }
        }
    }
}
