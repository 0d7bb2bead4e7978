package dev.gemshrink.drivers;

import static dev.gemshrink.drivers.DriverTesting.PAGE;
import static dev.gemshrink.drivers.DriverTesting.assertErrno;
import static dev.gemshrink.drivers.DriverTesting.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.DriverUnderTest;
import dev.gemshrink.testing.DriverUnderTest.Bo;
import dev.gemshrink.testing.DriverUnderTest.Client;
import dev.gemshrink.testing.DriverUnderTest.Device;
import dev.gemshrink.testing.DriverUnderTest.Hold;
import dev.gemshrink.testing.FaultySwapStore;
import dev.gemshrink.testing.OnBothDrivers;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Timeout;

/**
 * What every driver model must do, run on each (see {@link DriverUnderTest}): nothing is lost (a WILLNEED BO's
 * bytes survive eviction by the shrinker, by direct reclaim and by the driver, and come back byte for byte on the
 * driver's swap-in and on CPU access); a pinned, CPU-mapped or busy BO is never reclaimed; bad input is an errno
 * and changes nothing; a failed swap write or swap-in keeps the contents; and the checker the tests run is the
 * driver's own. The driver's checker runs after every step.
 */
@Timeout(60)
class DriverConformanceTest {

    @OnBothDrivers
    void willneedBytesSurviveTheShrinkersEvictionAndComeBackOnSwapInAndCpuAccess(DriverUnderTest driver) {
        try (Device dev = driver.open(64, 256)) {
            // A client each: a Panthor job validates every BO of its VM, and each BO is to come back on its own.
            List<Client> clients = List.of(dev.openClient("ca"), dev.openClient("cb"), dev.openClient("cd"));
            Bo a = clients.get(0).createBo("a", 4 * PAGE);
            Bo b = clients.get(1).createBo("b", 8 * PAGE);
            Bo d = clients.get(2).createBo("d", 5 * PAGE);
            byte[] da = bytes(1, 4 * PAGE);
            byte[] db = bytes(2, 8 * PAGE);
            byte[] dd = bytes(3, 5 * PAGE);
            a.gpuWrite(da);
            b.write(0, db);
            d.gpuWrite(dd);
            byte[] part = bytes(4, PAGE + 17);
            d.write(2 * PAGE - 5, part);
            System.arraycopy(part, 0, dd, 2 * PAGE - 5, part.length);
            dev.assertClean();

            assertThat(dev.shrink(1000)).as("every idle BO evicted").isEqualTo(17);
            assertThat(List.of(a, b, d)).allMatch(Bo::isEvicted);
            assertThat(dev.gem().pool().usedPages()).isZero();
            assertThat(dev.gem().swap().usedPages()).isEqualTo(17);
            dev.assertClean();
            assertThat(dev.shrink(1000)).as("the shrinker never swaps in: nothing left to free").isZero();
            assertThat(List.of(a, b, d)).allMatch(Bo::isEvicted);
            dev.assertClean();

            a.swapIn();
            assertThat(a.isResident()).isTrue();
            assertThat(a.isEvicted()).isFalse();
            assertThat(dev.gem().swap().usedPages()).isEqualTo(13);
            dev.assertClean();
            assertThat(a.gpuRead()).isEqualTo(da);
            byte[] cpu = new byte[8 * PAGE];
            b.read(0, cpu);
            assertThat(cpu).as("a CPU access swaps in").isEqualTo(db);
            assertThat(b.isResident()).isTrue();
            dev.assertClean();
            assertThat(d.gpuRead()).as("a job swaps in").isEqualTo(dd);
            assertThat(dev.gem().swap().usedPages()).isZero();
            dev.assertClean();
            clients.forEach(Client::close);
            dev.assertEmpty();
        }
    }

    @OnBothDrivers
    void willneedBytesSurviveDirectReclaimAndTheDriversOwnEviction(DriverUnderTest driver) {
        try (Device dev = driver.open(16, 256)) {
            // A client each: RAM holds one of the two BOs, and a Panthor job makes its whole VM resident.
            Client c = dev.openClient("c");
            Client other = dev.openClient("other");
            Bo first = c.createBo("first", 12 * PAGE);
            byte[] one = bytes(5, 12 * PAGE);
            first.gpuWrite(one);
            dev.assertClean();
            // Making the second resident evicts the first by direct reclaim.
            Bo second = other.createBo("second", 12 * PAGE);
            assertThat(first.isEvicted()).as("evicted by direct reclaim").isTrue();
            byte[] two = bytes(6, 12 * PAGE);
            second.write(0, two);
            dev.assertClean();
            assertThat(first.gpuRead()).as("swapped in, evicting the second").isEqualTo(one);
            assertThat(second.isEvicted()).isTrue();
            dev.assertClean();
            assertThat(second.gpuRead()).isEqualTo(two);
            dev.assertClean();

            assertThat(second.reclaim()).as("the driver's eviction").isEqualTo(12);
            assertThat(second.isEvicted()).isTrue();
            assertErrno(Errno.EBUSY, second::reclaim);
            dev.assertClean();
            byte[] back = new byte[12 * PAGE];
            second.read(0, back);
            assertThat(back).isEqualTo(two);
            dev.assertClean();
            c.close();
            other.close();
            dev.assertEmpty();
        }
    }

    @OnBothDrivers
    void pinnedMappedAndBusyBosAreNeverReclaimed(DriverUnderTest driver) {
        try (Device dev = driver.open(256, 256)) {
            Client c = dev.openClient("c");
            Client gpuUser = dev.openClient("gpu-user"); // Panthor's busy is per VM: the busy BO has its own client
            Bo idle = c.createBo("idle", 2 * PAGE);
            Bo pinned = c.createBo("pinned", 3 * PAGE);
            Bo mapped = c.createBo("mapped", 4 * PAGE);
            Bo busy = gpuUser.createBo("busy", 5 * PAGE);
            List<Bo> held = List.of(pinned, mapped, busy);
            byte[][] data = new byte[held.size()][];
            for (int i = 0; i < held.size(); i++) {
                data[i] = bytes(10 + i, (int) held.get(i).size());
                held.get(i).gpuWrite(data[i]);
            }
            Hold pin = pinned.pin();
            Hold vmap = mapped.vmap();
            Hold job = busy.busy();
            dev.assertClean();

            assertThat(dev.shrink(10_000)).as("only the idle BO").isEqualTo(2);
            assertThat(idle.isEvicted()).isTrue();
            for (Bo bo : held) {
                assertThat(bo.isResident()).as("%s resident", bo.name()).isTrue();
                assertErrno(Errno.EBUSY, bo::reclaim);
                assertThat(bo.isResident()).as("%s still resident", bo.name()).isTrue();
            }
            assertThat(dev.shrink(10_000)).as("still nothing").isZero();
            dev.assertClean();

            pin.close();
            vmap.close();
            job.close();
            dev.assertClean();
            assertThat(dev.shrink(10_000)).as("reclaimable once released").isEqualTo(12);
            assertThat(held).allMatch(Bo::isEvicted);
            dev.assertClean();
            for (int i = 0; i < held.size(); i++) {
                assertThat(held.get(i).gpuRead()).as("%s", held.get(i).name()).isEqualTo(data[i]);
            }
            dev.assertClean();
            c.close();
            gpuUser.close();
            dev.assertEmpty();
        }
    }

    @OnBothDrivers
    void badInputIsAnErrnoAndChangesNothing(DriverUnderTest driver) {
        try (Device dev = driver.open(64, 64)) {
            Client c = dev.openClient("c");
            Bo bo = c.createBo("bo", 4 * PAGE);
            byte[] data = bytes(20, 4 * PAGE);
            bo.write(0, data);
            Bo gone = c.createBo("gone", PAGE);
            gone.free();
            int used = dev.gem().pool().usedPages();
            int objects = dev.gem().objects().size();
            List<ThrowingCallable> einval = List.of(
                    () -> c.createBo("zero", 0),
                    () -> c.createBo("negative", -PAGE),
                    () -> bo.read(-1, new byte[1]),
                    () -> bo.read(4 * PAGE - 1, new byte[2]),
                    () -> bo.write(4 * PAGE, new byte[1]),
                    () -> bo.write(-PAGE, new byte[PAGE + 1]),
                    () -> dev.shrink(-1));
            List<ThrowingCallable> enoent = List.of(
                    gone::free,
                    () -> gone.read(0, new byte[1]),
                    () -> gone.write(0, new byte[1]));
            for (ThrowingCallable call : einval) {
                assertErrno(Errno.EINVAL, call);
                assertUnchanged(dev, bo, data, used, objects);
            }
            for (ThrowingCallable call : enoent) {
                assertErrno(Errno.ENOENT, call);
                assertUnchanged(dev, bo, data, used, objects);
            }
            c.close();
            dev.assertEmpty();
        }
    }

    private static void assertUnchanged(Device dev, Bo bo, byte[] data, int used, int objects) {
        assertThat(dev.gem().pool().usedPages()).as("RAM in use").isEqualTo(used);
        assertThat(dev.gem().objects()).as("objects").hasSize(objects);
        assertThat(bo.isResident()).isTrue();
        byte[] back = new byte[data.length];
        bo.read(0, back);
        assertThat(back).isEqualTo(data);
        dev.assertClean();
    }

    @OnBothDrivers
    void aFailedSwapWriteOrSwapInKeepsTheContents(DriverUnderTest driver) {
        FaultySwapStore swap = new FaultySwapStore(SwapStore.inMemory(64));
        try (Device dev = driver.open(64, swap, LeakDetection.fromSystemProperty())) {
            Client c = dev.openClient("c");
            Bo bo = c.createBo("bo", 6 * PAGE);
            byte[] data = bytes(30, 6 * PAGE);
            bo.gpuWrite(data);

            swap.failStores(true);
            assertErrno(Errno.ENOMEM, bo::reclaim);
            assertThat(bo.isResident()).as("the write failed first: resident and mapped").isTrue();
            assertThat(dev.shrink(100)).isZero();
            assertThat(dev.gem().swap().usedPages()).isZero();
            dev.assertClean();
            assertThat(bo.gpuRead()).isEqualTo(data);

            swap.heal();
            assertThat(bo.reclaim()).isEqualTo(6);
            swap.failLoads(true);
            assertErrno(Errno.EFAULT, bo::swapIn);
            assertThat(bo.isEvicted()).as("the swap copy is kept").isTrue();
            assertThat(dev.gem().pool().usedPages()).as("the new frames went back").isZero();
            dev.assertClean();

            swap.heal();
            assertThat(bo.gpuRead()).isEqualTo(data);
            dev.assertClean();
            c.close();
            dev.assertEmpty();
        }
    }

    @OnBothDrivers
    void theCheckTheTestsRunIsTheDriversOwn(DriverUnderTest driver) {
        try (Device dev = driver.open(64, 64)) {
            Client c = dev.openClient("c");
            Bo bo = c.createBo("bo", 2 * PAGE);
            dev.assertClean();
            Hold planted = dev.plantUnaccountedReference(bo);
            List<Violation> v = dev.check();
            assertThat(v).as("the driver's check sees a reference no driver structure accounts for").isNotEmpty();
            assertThat(InvariantChecker.check(dev.gem())).as("the core checker alone cannot").isEmpty();
            planted.close();
            dev.assertClean();
            c.close();
            dev.assertEmpty();
        }
    }
}
