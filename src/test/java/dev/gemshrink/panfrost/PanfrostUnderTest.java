package dev.gemshrink.panfrost;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.DriverUnderTest;
import java.util.List;

/**
 * The Panfrost-like driver as a {@link DriverUnderTest}: a client is a {@link PanfrostClient} (its own address
 * space), a BO a NOEXEC {@link PanfrostBo} opened in it; a GPU job lists the BOs it uses, a busy hold is a held
 * job, and freeing closes the client's handle. Its parts are plain classes, not records: the model checker (Lincheck)
 * cannot take the field offsets of a record.
 */
// Test code: the test fixture types it implements are compiled into the module but not exported by it.
@SuppressWarnings("exports")
public final class PanfrostUnderTest extends DriverUnderTest {
    /** The driver. */
    public static final PanfrostUnderTest DRIVER = new PanfrostUnderTest();

    private PanfrostUnderTest() {
        super(PanfrostDevice.DRIVER_NAME);
    }

    @Override
    public Device open(int ramPages, SwapStore swap, LeakDetection leaks) {
        PanfrostDevice.Builder b = PanfrostDevice.builder().name("panfrost-under-test").ramPages(ramPages)
                .leakDetection(leaks);
        return new Dev((swap != null ? b.swap(swap) : b).build());
    }

    /** Waits (bounded) for a job, which must finish DONE. */
    private static void finish(Job j) {
        assertThat(PanfrostTesting.await(j).status()).as("%s: %s", j, j.error()).isEqualTo(Job.Status.DONE);
    }

    private static final class Dev implements Device {
        private final PanfrostDevice dev;

        Dev(PanfrostDevice dev) {
            this.dev = dev;
        }
        @Override
        public GemDevice gem() {
            return dev.gem();
        }

        @Override
        public Client openClient(String name) {
            return new Cl(dev.openClient(name));
        }

        @Override
        public List<Violation> check() {
            return dev.check();
        }

        @Override
        public Hold plantUnaccountedReference(Bo bo) {
            B b = (B) bo;
            GpuMapping m = b.client.mapping(b.bo);
            assertThat(m.tryGet()).as("a reference on the mapping of %s", b.bo).isTrue();
            return m::put;
        }

        @Override
        public void close() {
            dev.close();
        }
    }

    private static final class Cl implements Client {
        private final PanfrostClient client;

        Cl(PanfrostClient client) {
            this.client = client;
        }
        @Override
        public String name() {
            return client.name();
        }

        @Override
        public Bo createBo(String name, long size) {
            return new B(client, client.createBo(name, size, BoFlags.NOEXEC));
        }

        @Override
        public void close() {
            client.close();
        }
    }

    private static final class B implements Bo {
        private final PanfrostClient client;
        private final PanfrostBo bo;

        B(PanfrostClient client, PanfrostBo bo) {
            this.client = client;
            this.bo = bo;
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
            long va = client.mapping(bo).va();
            finish(client.submit("read", List.of(bo), ctx -> ctx.read(va, out), false));
            return out;
        }

        @Override
        public void gpuWrite(byte[] data) {
            long va = client.mapping(bo).va();
            finish(client.submit("write", List.of(bo), ctx -> ctx.write(va, data), false));
        }

        @Override
        public void swapIn() {
            finish(client.submit("swap-in", List.of(bo), GpuWork.NONE, false));
        }

        @Override
        public Hold busy() {
            Job j = client.submit("busy", List.of(bo), GpuWork.NONE, true);
            return () -> {
                j.complete();
                finish(j);
            };
        }

        @Override
        public Hold pin() {
            return bo.pin()::close;
        }

        @Override
        public Hold vmap() {
            return bo.vmap()::close;
        }

        @Override
        public int reclaim() {
            return bo.evict();
        }

        @Override
        public void free() {
            client.close(bo);
        }
    }
}
