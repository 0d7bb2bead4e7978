package dev.gemshrink.sim;

import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.panfrost.BoFlags;
import dev.gemshrink.panfrost.GpuContext;
import dev.gemshrink.panfrost.PanfrostBo;
import dev.gemshrink.panfrost.PanfrostClient;
import dev.gemshrink.panfrost.PanfrostDevice;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.stats.GemsTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The simulation's driver on the Panfrost-like driver: every call goes straight to it. A job lists its BOs, which
 * it keeps alive until it finishes; madvise is the driver's; a heap BO is GPU memory at its address that grows
 * through GPU faults.
 */
final class PanfrostSimDriver extends SimDriver {
    /** Bytes the driver allocates to a heap BO per fault. */
    private static final long HEAP_CHUNK = 2L << 20;

    private final PanfrostDevice device;

    PanfrostSimDriver(SimulationConfig config, SwapStore swap) {
        this.device = PanfrostDevice.builder().name("simulate").ramPages(config.ramPages()).backing(config.backing())
                .swap(swap).reclaimPolicy(config.policy()).build();
    }

    @Override
    GemDevice gem() {
        return device.gem();
    }

    @Override
    Client openClient(String name) {
        return new PfClient(device.openClient(name));
    }

    @Override
    List<Violation> check() {
        return device.check();
    }

    @Override
    int liveBos() {
        return device.bos().size();
    }

    @Override
    long heapGrowths() {
        return device.stats().gpuFaults();
    }

    @Override
    long heapPages() {
        return device.stats().heapChunks() * (HEAP_CHUNK / PagePool.PAGE_SIZE);
    }

    @Override
    long discardedPages() {
        return 0;
    }

    @Override
    boolean jobsFinished() {
        PanfrostDevice.Stats s = device.stats();
        return s.jobsDone() + s.jobsFaulted() >= s.jobsSubmitted();
    }

    /** Sums each client's BOs: a BO open in two clients counts in both, as fdinfo counts shared memory. */
    @Override
    List<ClientUsage> clientUsage() {
        List<ClientUsage> out = new ArrayList<>();
        for (PanfrostClient c : device.clients()) {
            long resident = 0;
            long total = 0;
            for (PanfrostBo bo : c.bos()) {
                total += bo.size();
                if (bo.isResident()) {
                    resident += bo.isHeap() ? Math.min(bo.size(), bo.heapChunks() * HEAP_CHUNK) : bo.size();
                }
            }
            out.add(new ClientUsage(c.name(), resident, total));
        }
        return out;
    }

    @Override
    GemsTable gems() {
        return device.gems();
    }

    @Override
    BackgroundReclaimer startBackgroundReclaimer(int low, int high) {
        return device.startBackgroundReclaimer(low, high);
    }

    @Override
    public void close() {
        device.close();
    }

    private static PanfrostBo bo(Bo b) {
        return ((PfBo) b).bo;
    }

    /** A client: the driver's own. */
    private static final class PfClient implements Client {
        private final PanfrostClient client;

        PfClient(PanfrostClient client) {
            this.client = client;
        }

        @Override
        public Bo create(String name, long size, Use use) {
            int flags = switch (use) {
                case CODE -> 0;
                case DATA, SCRATCH -> BoFlags.NOEXEC;
                case HEAP -> BoFlags.HEAP | BoFlags.NOEXEC;
            };
            return new PfBo(client, client.createBo(name, size, flags));
        }

        @Override
        public void close(Bo bo) {
            client.close(bo(bo));
        }

        @Override
        public boolean madvise(Bo bo, Madv advice) {
            return client.madvise(bo(bo), advice);
        }

        @Override
        public Job submit(String name, List<Bo> bos, Work work) {
            List<PanfrostBo> list = new ArrayList<>(bos.size());
            for (Bo b : bos) {
                list.add(bo(b));
            }
            return new PfJob(client.submit(name, list, g -> work.run(new PfGpu(g)), false));
        }

        @Override
        public boolean fault(Bo heap, long offset) {
            return client.fault(bo(heap), offset);
        }

        @Override
        public void close() {
            client.close();
        }
    }

    /** A BO and the client it was created in (its GPU address is that client's mapping). */
    private record PfBo(PanfrostClient client, PanfrostBo bo) implements Bo {
        @Override
        public String name() {
            return bo.name();
        }

        @Override
        public long size() {
            return bo.size();
        }

        @Override
        public boolean isHeap() {
            return bo.isHeap();
        }

        @Override
        public long va() {
            return client.mapping(bo).va();
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
        public int discards() {
            return 0;
        }
    }

    /** A job of the driver. */
    private record PfJob(dev.gemshrink.panfrost.Job job) implements Job {
        @Override
        public String name() {
            return job.name();
        }

        @Override
        public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
            return job.await(timeout, unit);
        }

        @Override
        public Outcome outcome() {
            return job.status() == dev.gemshrink.panfrost.Job.Status.FAULTED ? Outcome.FAULTED : Outcome.DONE;
        }

        @Override
        public Optional<GemException> error() {
            return job.error();
        }
    }

    /** The job's GPU view: the client's page table; a heap grows when touched. */
    private record PfGpu(GpuContext g) implements Gpu {
        @Override
        public void read(long va, byte[] dst) {
            g.read(va, dst);
        }

        @Override
        public void write(long va, byte[] src) {
            g.write(va, src);
        }

        @Override
        public boolean growHeap(Bo heap, long offset) {
            return true;
        }
    }
}
