package dev.gemshrink.panthor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.DriverUnderTest;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Panthor-like driver as a {@link DriverUnderTest}: a client is a {@link PanthorClient} with one
 * {@link PanthorVm}, a BO a {@link PanthorBo} private to that VM and bound in it whole at the next free address; a GPU
 * job is a job of the VM (which validates every BO bound there), a busy hold is a job gated on a latch, pins and
 * CPU mappings are taken on the BO's core object (the driver has no call of its own for them), and freeing closes
 * the handle, then unbinds. Its parts are plain classes, not records: the model checker (Lincheck) cannot take the
 * field offsets of a record.
 */
// Test code: the test fixture types it implements are compiled into the module but not exported by it.
@SuppressWarnings("exports")
public final class PanthorUnderTest extends DriverUnderTest {
    /** The driver. */
    public static final PanthorUnderTest DRIVER = new PanthorUnderTest();
    /** Where a client's first BO is bound. */
    private static final long FIRST_VA = 1L << 32;

    private PanthorUnderTest() {
        super(PanthorDevice.DRIVER_NAME);
    }

    @Override
    public Device open(int ramPages, SwapStore swap, LeakDetection leaks) {
        PanthorDevice.Builder b = PanthorDevice.builder().name("panthor-under-test").ramPages(ramPages)
                .leakDetection(leaks);
        return new Dev((swap != null ? b.swap(swap) : b).build());
    }

    /** Waits (bounded) for a job, which must finish DONE. */
    private static void finish(PanthorJob j) {
        try {
            assertThat(PanthorTesting.await(j).status()).as("%s: %s", j, j.error()).isEqualTo(PanthorJob.Status.DONE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for " + j, e);
        }
    }

    private static final class Dev implements Device {
        private final PanthorDevice dev;

        Dev(PanthorDevice dev) {
            this.dev = dev;
        }
        @Override
        public GemDevice gem() {
            return dev.gem();
        }

        @Override
        public Client openClient(String name) {
            PanthorClient c = dev.openClient(name);
            return new Cl(c, c.createVm(name + "-vm"), new AtomicLong(FIRST_VA));
        }

        @Override
        public List<Violation> check() {
            return dev.check();
        }

        @Override
        public Hold plantUnaccountedReference(Bo bo) {
            PanthorBo b = ((B) bo).bo;
            assertThat(b.tryRef()).as("a reference on %s", b).isTrue();
            return b::unref;
        }

        @Override
        public void close() {
            dev.close();
        }
    }

    /** A client, its one VM, and the next free address of the VM (addresses are never reused). */
    private static final class Cl implements Client {
        private final PanthorClient client;
        private final PanthorVm vm;
        private final AtomicLong nextVa;

        Cl(PanthorClient client, PanthorVm vm, AtomicLong nextVa) {
            this.client = client;
            this.vm = vm;
            this.nextVa = nextVa;
        }
        @Override
        public String name() {
            return client.name();
        }

        @Override
        public Bo createBo(String name, long size) {
            PanthorBo bo = client.createBo(name, size, 0, vm);
            long va = nextVa.getAndAdd(bo.size());
            try {
                vm.bind(bo, 0, bo.size(), va);
            } catch (RuntimeException | Error e) {
                client.closeBo(bo);
                throw e;
            }
            return new B(this, bo, va);
        }

        @Override
        public void close() {
            client.close();
        }
    }

    private static final class B implements Bo {
        private final Cl owner;
        private final PanthorBo bo;
        private final long va;

        B(Cl owner, PanthorBo bo, long va) {
            this.owner = owner;
            this.bo = bo;
            this.va = va;
        }
        @Override
        public String name() {
            return bo.name();
        }

        @Override
        public long size() {
            return bo.size();
        }

        @Override
        public ObjectState inspect() {
            return bo.inspect();
        }

        @Override
        public boolean isResident() {
            return bo.isResident();
        }

        @Override
        public boolean isEvicted() {
            return bo.isEvicted();
        }

        @Override
        public void read(long offset, byte[] dst) {
            bo.read(offset, dst);
        }

        @Override
        public void write(long offset, byte[] src) {
            bo.write(offset, src);
        }

        @Override
        public byte[] gpuRead() {
            byte[] out = new byte[(int) bo.size()];
            finish(owner.vm.submit("read", ctx -> ctx.read(va, out)));
            return out;
        }

        @Override
        public void gpuWrite(byte[] data) {
            finish(owner.vm.submit("write", ctx -> ctx.write(va, data)));
        }

        @Override
        public void swapIn() {
            finish(owner.vm.submit("swap-in", ctx -> { }));
        }

        @Override
        public Hold busy() {
            CountDownLatch gate = new CountDownLatch(1);
            PanthorJob j = owner.vm.submit("busy", ctx -> PanthorBindTest.awaitGate(gate));
            return () -> {
                gate.countDown();
                finish(j);
            };
        }

        @Override
        public Hold pin() {
            return bo.shmem().pin()::close;
        }

        @Override
        public Hold vmap() {
            return bo.shmem().vmap()::close;
        }

        @Override
        public int reclaim() {
            return bo.reclaim();
        }

        @Override
        public void free() {
            owner.client.closeBo(bo);
            owner.vm.unbind(va, bo.size());
        }
    }
}
