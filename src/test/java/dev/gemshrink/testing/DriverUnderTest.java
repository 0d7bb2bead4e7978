package dev.gemshrink.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.memory.SwapStore;
import java.util.List;

/**
 * A driver model seen through what every driver offers, so that one test runs on each of them (see
 * {@link OnBothDrivers}): devices with clients, BOs a GPU job can read and write, CPU access, holds that keep a BO
 * from reclaim (a job in flight, a pin, a CPU mapping), reclaim of one BO or by the device's shrinker, and the
 * driver's own {@code check()} (the core's {@link dev.gemshrink.checking.InvariantChecker} plus the driver's
 * invariants). An implementation maps each operation to its driver's own calls and adds nothing of its own.
 *
 * <p>Thread safety: as the driver's; a client and its BOs may be used from any thread, one operation at a time per
 * BO unless the driver allows more.
 */
public abstract class DriverUnderTest {
    private final String name;

    /**
     * Names the driver.
     *
     * @param name the driver's name (the test's display name)
     */
    protected DriverUnderTest(String name) {
        this.name = name;
    }

    /**
     * Returns the driver's name.
     *
     * @return "panfrost" or "panthor"
     */
    public final String name() {
        return name;
    }

    /**
     * Opens a device.
     *
     * @param ramPages the RAM budget in pages
     * @param swap     the swap store, or null for none
     * @param leaks    the reference tracking level
     * @return the device, which the caller closes
     */
    public abstract Device open(int ramPages, SwapStore swap, LeakDetection leaks);

    /**
     * Opens a device with an in-memory swap store and the suite's reference tracking level.
     *
     * @param ramPages  the RAM budget in pages
     * @param swapPages swap pages (0: no swap)
     * @return the device, which the caller closes
     */
    public final Device open(int ramPages, int swapPages) {
        return open(ramPages, swapPages > 0 ? SwapStore.inMemory(swapPages) : null, LeakDetection.fromSystemProperty());
    }

    @Override
    public final String toString() {
        return name;
    }

    /** A device of the driver. */
    public interface Device extends AutoCloseable {
        /**
         * Returns the core device underneath (pool, swap, the shrinker's registration).
         *
         * @return the GEM device
         */
        GemDevice gem();

        /**
         * Opens a client with one GPU address space (Panthor: a client with one VM).
         *
         * @param name a name for messages
         * @return the client
         */
        Client openClient(String name);

        /**
         * Runs the driver's checker: the core's invariants and the driver's own.
         *
         * @return every violation
         */
        List<Violation> check();

        /**
         * Takes a reference on a BO that no driver structure accounts for (Panfrost: a mapping reference without a
         * holder; Panthor: a BO reference without a binding), for showing that {@link #check()} is the driver's.
         *
         * @param bo a live BO of this device
         * @return drops the planted reference
         */
        Hold plantUnaccountedReference(Bo bo);

        /**
         * Asks the device's shrinker to free up to {@code pages} pages, like a debugfs {@code scan} write.
         *
         * @param pages the target
         * @return pages freed
         */
        default long shrink(long pages) {
            return gem().shrinker().scan(pages);
        }

        /** Asserts that {@link #check()} finds nothing. */
        default void assertClean() {
            assertThat(check()).as("invariant violations (core and driver)").isEmpty();
        }

        /** Asserts that the device is clean and holds no object, RAM page or swap page. */
        default void assertEmpty() {
            assertClean();
            assertThat(gem().objects()).as("objects left").isEmpty();
            assertThat(gem().pool().usedPages()).as("pool pages in use").isZero();
            assertThat(gem().swap().usedPages()).as("swap pages in use").isZero();
        }

        /** Closes the device (its clients should be closed first). */
        @Override
        void close();
    }

    /** A client (a DRM file) with one GPU address space. */
    public interface Client extends AutoCloseable {
        /**
         * Returns the client's name.
         *
         * @return the name
         */
        String name();

        /**
         * Creates a WILLNEED BO, resident and mapped at a GPU address of this client's address space (Panthor: private
         * to the client's VM and bound there whole).
         *
         * @param name a name (null: the driver picks one)
         * @param size bytes
         * @return the BO
         * @throws dev.gemshrink.GemException EINVAL for a bad size; ENOMEM when it cannot be made resident (nothing is
         *                                    left behind)
         */
        Bo createBo(String name, long size);

        /** Closes the client: every BO it holds is released. */
        @Override
        void close();
    }

    /** A BO of a client, as the test sees it. */
    public interface Bo {
        /**
         * Returns the BO's name.
         *
         * @return the name
         */
        String name();

        /**
         * Returns the size, rounded up to whole pages.
         *
         * @return bytes
         */
        long size();

        /**
         * Returns a snapshot of the BO's core bookkeeping.
         *
         * @return the state
         */
        ObjectState inspect();

        /**
         * Returns whether the pages are resident.
         *
         * @return true when a frame array exists
         */
        boolean isResident();

        /**
         * Returns whether the contents are in swap.
         *
         * @return true when evicted
         */
        boolean isEvicted();

        /**
         * CPU read (an evicted BO is swapped in).
         *
         * @param offset where to start
         * @param dst    where to copy to
         */
        void read(long offset, byte[] dst);

        /**
         * CPU write (an evicted BO is swapped in).
         *
         * @param offset where to start
         * @param src    what to copy
         */
        void write(long offset, byte[] src);

        /**
         * Reads the whole BO through a GPU job that uses it, which must finish normally.
         *
         * @return the bytes
         * @throws dev.gemshrink.GemException when the submission is refused (ENOMEM, EFAULT, ...)
         */
        byte[] gpuRead();

        /**
         * Writes the BO from offset 0 through a GPU job that uses it, which must finish normally.
         *
         * @param data the bytes, at most the BO's size
         * @throws dev.gemshrink.GemException when the submission is refused (ENOMEM, EFAULT, ...)
         */
        void gpuWrite(byte[] data);

        /**
         * Swaps the BO in the way the driver does before a GPU job: submits a job that uses it (Panfrost: lists it;
         * Panthor: a job of its VM) and waits for it.
         *
         * @throws dev.gemshrink.GemException when the submission is refused (ENOMEM, EFAULT, ...)
         */
        void swapIn();

        /**
         * Makes the BO busy: submits a job that uses it and is held in flight until the hold is closed (Panthor:
         * every BO bound in the same VM is busy too).
         *
         * @return completes the job and waits for it
         */
        Hold busy();

        /**
         * Pins the BO's pages (a kernel user of the pages).
         *
         * @return unpins
         */
        Hold pin();

        /**
         * Maps the BO for the CPU (a vmap, which pins it).
         *
         * @return unmaps
         */
        Hold vmap();

        /**
         * Reclaims the BO now through the driver's policy, as a scan would.
         *
         * @return pages freed
         * @throws dev.gemshrink.GemException EBUSY when the driver refuses now; ENOMEM when the swap write fails
         */
        int reclaim();

        /**
         * Drops the client's references to the BO (Panfrost: closes its handle; Panthor: closes its handle and
         * unbinds it), which frees it unless something else holds it.
         *
         * @throws dev.gemshrink.GemException ENOENT when already freed this way
         */
        void free();
    }

    /** Something held on a BO that closing releases. */
    public interface Hold extends AutoCloseable {
        /** Releases it. */
        @Override
        void close();
    }
}
