package dev.gemshrink.sim;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.panthor.JobContext;
import dev.gemshrink.panthor.PanthorBo;
import dev.gemshrink.panthor.PanthorClient;
import dev.gemshrink.panthor.PanthorDevice;
import dev.gemshrink.panthor.PanthorJob;
import dev.gemshrink.panthor.PanthorVm;
import dev.gemshrink.panthor.TilerHeap;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.stats.GemsTable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The simulation's driver on the Panthor-like driver. A client has one or more VMs, each holding at most a budget
 * of bound bytes (a quarter of the RAM per worker thread, at least 2 MiB), because submitting a job on a VM makes
 * every BO bound in it resident. Each BO is shareable among the client's VMs, gets a GPU address of its own in the
 * client, and is bound whole at that address in the first VM with room for it when it is created. A job runs on the
 * VM of its heap, else of its first BO; a BO it lists from another VM is bound there at the same address for the
 * job and unbound once that VM is idle again. Closing a BO closes the handle and unbinds it once its VMs are idle
 * (a job in flight keeps it, as on Panfrost). A heap of N bytes is a tiler heap of the client's first VM, of eight
 * chunks of N / 8 bytes; madvise changes
 * nothing (Panthor has none) and answers retained; a DISCARD-like {@link Use#SCRATCH} BO is created
 * {@link PanthorBo#DISCARD_ON_RECLAIM}.
 */
final class PanthorSimDriver extends SimDriver {
    /** The chunks of a tiler heap: a heap of N bytes grows in chunks of N / 8 (whole pages). */
    private static final int HEAP_CHUNKS = 8;

    private final PanthorDevice dev;
    private final long vmBytes;
    private final LongAdder heapGrowths = new LongAdder(); // grown on the GPU thread, read by the simulation
    private final LongAdder heapPages = new LongAdder();
    private final LongAdder discardedPages = new LongAdder();
    private volatile BackgroundReclaimer reclaimer; // set before the workers start, closed with the driver

    PanthorSimDriver(SimulationConfig config, SwapStore swap) {
        this.dev = PanthorDevice.builder().name("simulate").ramPages(config.ramPages()).backing(config.backing())
                .swap(swap).reclaimPolicy(config.policy()).build();
        this.vmBytes = Math.max(2L << 20, config.ramBytes() / (4L * config.threads()));
    }

    @Override
    GemDevice gem() {
        return dev.gem();
    }

    @Override
    Client openClient(String name) {
        return new PtClient(dev.openClient(name));
    }

    @Override
    List<Violation> check() {
        return dev.check();
    }

    @Override
    int liveBos() {
        return dev.bos().size();
    }

    @Override
    long heapGrowths() {
        return heapGrowths.sum();
    }

    @Override
    long heapPages() {
        return heapPages.sum();
    }

    @Override
    long discardedPages() {
        return discardedPages.sum();
    }

    @Override
    boolean jobsFinished() {
        for (PanthorClient c : dev.clients()) {
            for (PanthorVm vm : c.vms()) {
                if (vm.isBusy()) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Each client's BO handles (resident when their pages are) and its tiler heaps' chunks. */
    @Override
    List<ClientUsage> clientUsage() {
        List<ClientUsage> out = new ArrayList<>();
        for (PanthorClient c : dev.clients()) {
            long resident = 0;
            long total = 0;
            for (PanthorBo bo : c.bos()) {
                total += bo.size();
                resident += bo.isResident() ? bo.size() : 0;
            }
            for (PanthorVm vm : c.vms()) {
                for (TilerHeap h : vm.heaps()) {
                    long bytes = (long) h.chunks() * h.chunkPages() * PagePool.PAGE_SIZE;
                    total += bytes;
                    resident += bytes;
                }
            }
            out.add(new ClientUsage(c.name(), resident, total));
        }
        return out;
    }

    @Override
    GemsTable gems() {
        return new GemsTable(List.of(), 0);
    }

    @Override
    BackgroundReclaimer startBackgroundReclaimer(int low, int high) {
        BackgroundReclaimer r = new BackgroundReclaimer(dev.gem().pool(), dev.gem().shrinkers(), low, high).start();
        reclaimer = r;
        return r;
    }

    @Override
    public void close() {
        BackgroundReclaimer r = reclaimer;
        try {
            if (r != null) {
                r.close();
            }
        } finally {
            dev.close();
        }
    }

    /** One of a client's VMs and the bytes of the BOs whose home it is. */
    private static final class Home {
        final PanthorVm vm;
        long bytes; // confined to the client's worker

        Home(PanthorVm vm) {
            this.vm = vm;
        }
    }

    /** A BO, its address in the client, its home VM and the VMs it is bound in now. */
    private static final class PtBo implements Bo {
        final PanthorBo bo;
        final long va;
        final Home home;
        final Set<PanthorVm> boundIn = new HashSet<>(); // confined to the client's worker
        boolean closed; // the handle is closed; confined to the client's worker

        PtBo(PanthorBo bo, long va, Home home) {
            this.bo = bo;
            this.va = va;
            this.home = home;
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
        public boolean isHeap() {
            return false;
        }

        @Override
        public long va() {
            return va;
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
            return bo.discards();
        }
    }

    /** A tiler heap as a BO: it has no address and no CPU access. */
    private record PtHeap(String name, long size, TilerHeap heap, Home home) implements Bo {
        @Override
        public boolean isHeap() {
            return true;
        }

        @Override
        public long va() {
            return 0;
        }

        @Override
        public void read(long offset, byte[] dst) {
            throw new GemException(Errno.EINVAL, "a tiler heap has no CPU access: " + name);
        }

        @Override
        public void write(long offset, byte[] src) {
            throw new GemException(Errno.EINVAL, "a tiler heap has no CPU access: " + name);
        }

        @Override
        public int discards() {
            return 0;
        }
    }

    /** Something to do on a VM once it is idle (an unbind, a heap's destruction). */
    private record Deferred(PanthorVm vm, Runnable action) {
    }

    /** A client, its VMs and what waits for one of them to be idle. Confined to its worker's thread. */
    private final class PtClient implements Client {
        private final PanthorClient client;
        private final List<Home> homes = new ArrayList<>();
        private final List<Deferred> deferred = new ArrayList<>();
        private final Set<PtBo> bos = new LinkedHashSet<>(); // every BO not freed yet, closed ones included
        private long nextVa = PanthorVm.VA_START;

        PtClient(PanthorClient client) {
            this.client = client;
            homes.add(new Home(client.createVm(client.name() + ".vm0")));
        }

        @Override
        public Bo create(String name, long size, Use use) {
            runDeferred();
            if (use == Use.HEAP) {
                Home h = homes.get(0);
                long chunk = Math.max(1, size / HEAP_CHUNKS / PagePool.PAGE_SIZE) * PagePool.PAGE_SIZE;
                return new PtHeap(name, chunk * HEAP_CHUNKS, h.vm.createTilerHeap(name, chunk, HEAP_CHUNKS), h);
            }
            PanthorBo bo = client.createBo(name, size, use == Use.SCRATCH ? PanthorBo.DISCARD_ON_RECLAIM : 0, null);
            Home h = homeWithRoom(bo.size());
            try {
                h.vm.bind(bo, 0, bo.size(), nextVa);
            } catch (Throwable t) {
                client.closeBo(bo);
                throw t;
            }
            PtBo b = new PtBo(bo, nextVa, h);
            b.boundIn.add(h.vm);
            bos.add(b);
            h.bytes += bo.size();
            nextVa += bo.size() + PagePool.PAGE_SIZE; // a guard page between BOs
            return b;
        }

        private Home homeWithRoom(long size) {
            for (Home h : homes) {
                if (h.bytes + size <= vmBytes) {
                    return h;
                }
            }
            Home h = new Home(client.createVm(client.name() + ".vm" + homes.size()));
            homes.add(h);
            return h;
        }

        @Override
        public void close(Bo b) {
            runDeferred();
            if (b instanceof PtHeap heap) {
                whenIdle(heap.home().vm, () -> heap.home().vm.destroyTilerHeap(heap.heap()));
                return;
            }
            PtBo bo = (PtBo) b;
            client.closeBo(bo.bo);
            bo.closed = true;
            bo.home.bytes -= bo.size();
            for (PanthorVm vm : List.copyOf(bo.boundIn)) {
                whenIdle(vm, () -> unbind(bo, vm));
            }
        }

        @Override
        public boolean madvise(Bo bo, Madv advice) {
            return true;
        }

        @Override
        public Job submit(String name, List<Bo> list, Work work) {
            runDeferred();
            PanthorVm vm = jobVm(list);
            List<PtBo> added = new ArrayList<>();
            try {
                for (Bo b : list) {
                    if (b instanceof PtBo bo && !bo.boundIn.contains(vm)) {
                        vm.bind(bo.bo, 0, bo.size(), bo.va);
                        bo.boundIn.add(vm);
                        added.add(bo);
                    }
                }
                PanthorJob job = vm.submit(name, ctx -> work.run(new PtGpu(ctx)));
                for (PtBo bo : added) {
                    deferred.add(new Deferred(vm, () -> unbind(bo, vm)));
                }
                return new PtJob(job, this);
            } catch (Throwable t) {
                for (PtBo bo : added) {
                    unbind(bo, vm); // the job never ran, and no other job uses a binding made for it
                }
                throw t;
            }
        }

        private PanthorVm jobVm(List<Bo> list) {
            for (Bo b : list) {
                if (b instanceof PtHeap heap) {
                    return heap.home().vm;
                }
            }
            return list.isEmpty() ? homes.get(0).vm : ((PtBo) list.get(0)).home.vm;
        }

        @Override
        public boolean fault(Bo heap, long offset) {
            return false;
        }

        /** Runs {@code action} now when the VM is idle, else once it is. */
        private void whenIdle(PanthorVm vm, Runnable action) {
            if (vm.isBusy()) {
                deferred.add(new Deferred(vm, action));
            } else {
                action.run();
            }
        }

        /** Runs, in order, what waits for a VM that is idle now. */
        void runDeferred() {
            for (Iterator<Deferred> it = deferred.iterator(); it.hasNext(); ) {
                Deferred d = it.next();
                if (!d.vm().isBusy()) {
                    it.remove();
                    d.action().run();
                }
            }
        }

        /** Unbinds a BO from a VM unless already done; the last unbind of a closed BO frees it. */
        private void unbind(PtBo bo, PanthorVm vm) {
            if (bo.boundIn.remove(vm)) {
                vm.unbind(bo.va, bo.size());
            }
            if (bo.closed && bo.boundIn.isEmpty() && bos.remove(bo)) {
                discardedPages.add((long) bo.discards() * (bo.size() / PagePool.PAGE_SIZE));
            }
        }

        @Override
        public void close() {
            deferred.clear(); // closing the client waits for its jobs, unbinds every range and frees its heaps
            try {
                client.close();
            } finally {
                for (PtBo bo : bos) {
                    discardedPages.add((long) bo.discards() * (bo.size() / PagePool.PAGE_SIZE));
                }
                bos.clear();
            }
        }
    }

    /** A job; once it has finished, its client runs what waited for the VM to be idle. */
    private record PtJob(PanthorJob job, PtClient client) implements Job {
        @Override
        public String name() {
            return job.name();
        }

        @Override
        public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
            if (!job.await(timeout, unit)) {
                return false;
            }
            client.runDeferred();
            return true;
        }

        @Override
        public Outcome outcome() {
            return switch (job.status()) {
                case FAULTED -> Outcome.FAULTED;
                case INCREMENTAL_RENDERING_NEEDED -> Outcome.INCREMENTAL_RENDERING;
                default -> Outcome.DONE;
            };
        }

        @Override
        public Optional<GemException> error() {
            return job.error();
        }
    }

    /** The job's GPU view: its VM's page table, and the tiler growing heaps without reclaim. */
    private final class PtGpu implements Gpu {
        private final JobContext ctx;

        PtGpu(JobContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void read(long va, byte[] dst) {
            ctx.read(va, dst);
        }

        @Override
        public void write(long va, byte[] src) {
            ctx.write(va, src);
        }

        @Override
        public boolean growHeap(Bo heap, long offset) {
            TilerHeap h = ((PtHeap) heap).heap();
            long chunk = (long) h.chunkPages() * PagePool.PAGE_SIZE;
            while (h.chunks() * chunk <= offset) {
                ctx.growHeap(h);
                heapGrowths.increment();
                heapPages.add(h.chunkPages());
            }
            return false;
        }
    }
}
