package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.DeviceBuilder;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.core.OwnerKind;
import dev.gemshrink.reclaim.NoProgressLimit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Panthor-like device over the core: a {@link GemDevice} (page pool, swap, LRUs, and its shrinker registered as
 * {@value #SHRINKER_NAME} with Panthor's retry rule), clients with VMs, BOs bound explicitly at GPU addresses,
 * tiler heaps, and a GPU thread that runs jobs in submission order. The core device is built with the driver's
 * reclaim stages (unused, mmapped, private per VM, shared: see {@code PanthorStages} and docs/panthor.md).
 *
 * <p>Lock order of the driver: a client's lock (only around its own lists and BO creation) -> BO reservation locks
 * (one at a time) -> a BO's bindings lock -> a VM's lock -> the core's leaves (LRU lock, page pool, swap store).
 * Every one of these is a {@link dev.gemshrink.locking.TrackedLock} or a reservation lock, so the
 * {@link dev.gemshrink.locking.LockValidator} checks the order when validation is on. The device's sets of BOs,
 * clients and VMs are concurrent sets.
 */
public final class PanthorDevice implements AutoCloseable {
    /** The driver's name. */
    public static final String DRIVER_NAME = "panthor";
    /** The name the device's shrinker is registered under. */
    public static final String SHRINKER_NAME = "drm-panthor-gem";
    /** How many scans in a row that free nothing answer 0 before the shrinker answers STOP. */
    public static final int EMPTY_SCANS_BEFORE_STOP = 2;

    private final GemDevice gem;
    private final ExecutorService gpu;
    private final Set<PanthorBo> bos = ConcurrentHashMap.newKeySet();
    private final Set<PanthorClient> clients = ConcurrentHashMap.newKeySet();
    private final Set<PanthorVm> vms = ConcurrentHashMap.newKeySet();
    private final AtomicLong boIds = new AtomicLong();

    private PanthorDevice(GemDevice gem, String name) {
        this.gem = gem;
        this.gpu = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name + "-gpu");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Returns a builder. Defaults: 64 MiB of RAM, no swap.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the core device underneath (pool, swap, LRUs, shrinker).
     *
     * @return the GEM device
     */
    public GemDevice gem() {
        return gem;
    }

    /**
     * Opens a client.
     *
     * @param name a name for messages
     * @return the client
     */
    public PanthorClient openClient(String name) {
        PanthorClient c = new PanthorClient(this, name);
        clients.add(c);
        return c;
    }

    /**
     * Returns the live BOs.
     *
     * @return a snapshot
     */
    public List<PanthorBo> bos() {
        return List.copyOf(bos);
    }

    /**
     * Returns the open clients.
     *
     * @return a snapshot
     */
    public List<PanthorClient> clients() {
        return List.copyOf(clients);
    }

    PanthorBo newBo(PanthorClient client, String name, long size, int flags, PanthorVm privateTo) {
        PanthorBo bo = PanthorBo.create(this, client, name != null ? name : "bo#" + boIds.incrementAndGet(), size,
                flags, privateTo);
        bos.add(bo);
        return bo;
    }

    void remember(PanthorVm vm) {
        vms.add(vm);
    }

    void forget(PanthorBo bo) {
        bos.remove(bo);
    }

    void forget(PanthorVm vm) {
        vms.remove(vm);
    }

    void forget(PanthorClient c) {
        clients.remove(c);
    }

    /**
     * Queues a job on the GPU thread.
     *
     * @throws GemException EINVAL when the device is closed
     */
    void queue(PanthorJob job) {
        job.markQueued();
        try {
            gpu.execute(job::run);
        } catch (RejectedExecutionException e) {
            throw new GemException(Errno.EINVAL, "cannot run job " + job.name() + ": the device is closed", e);
        }
    }

    /**
     * Checks every invariant: the core's ({@link InvariantChecker}) plus the driver's:
     * <ul>
     * <li>every mapped page of a bound range points at the frame its BO holds for that page now
     * ({@code pte-matches-page}), and an evicted or discarded BO has no mapped page ({@code reclaimed-has-no-pte});
     * </li>
     * <li>a BO's references are its handle's plus one per binding and one per open CPU mapping
     * ({@code bo-refs-equal-bindings}); each binding is in its VM ({@code binding-in-vm}), every VM range belongs to
     * a binding its live BO lists ({@code range-has-owner}), and a private BO is bound only in its VM
     * ({@code private-bo-in-its-vm}) and has that VM's reclaim domain as home ({@code private-bo-home-is-its-vm});
     * </li>
     * <li>a tiler heap holds its page use exactly while it has chunks, and one page per chunk page
     * ({@code heap-use-owned-by-heap});</li>
     * <li>once every client is closed, the device holds nothing: no BO, VM, object, RAM page or swap page
     * ({@code device-holds-nothing}).</li>
     * </ul>
     * Exact only when nothing else runs (a bind in progress holds a range that its BO does not list yet).
     *
     * @return the violations
     */
    public List<Violation> check() {
        List<Violation> out = new ArrayList<>(InvariantChecker.check(gem));
        Set<VmBinding> listed = Collections.newSetFromMap(new IdentityHashMap<>());
        List<PanthorBo> liveBos = bos();
        for (PanthorBo bo : liveBos) {
            checkBo(bo, listed, out);
        }
        List<PanthorVm> liveVms = List.copyOf(vms);
        for (PanthorVm vm : liveVms) {
            for (VmBinding b : vm.bindings()) {
                if (!listed.contains(b)) {
                    out.add(new Violation(vm.name(), "range-has-owner", b + " holds VA but "
                            + (b.bo().isFreed() ? "its BO is freed" : "its BO does not list it")));
                }
            }
            for (TilerHeap h : vm.heaps()) {
                checkHeap(h, out);
            }
        }
        if (clients.isEmpty()) {
            String subject = "device";
            if (!liveBos.isEmpty() || !liveVms.isEmpty()) {
                out.add(new Violation(subject, "device-holds-nothing", liveBos.size() + " BOs and " + liveVms.size()
                        + " VMs left"));
            }
            if (!gem.objects().isEmpty()) {
                out.add(new Violation(subject, "device-holds-nothing", gem.objects().size() + " objects left"));
            }
            if (gem.pool().usedPages() != 0 || gem.swap().usedPages() != 0) {
                out.add(new Violation(subject, "device-holds-nothing", gem.pool().usedPages() + " RAM pages and "
                        + gem.swap().usedPages() + " swap pages in use"));
            }
        }
        return out;
    }

    private static void checkBo(PanthorBo bo, Set<VmBinding> listed, List<Violation> out) {
        ObjectState s = bo.inspect();
        List<VmBinding> bs = bo.bindings();
        listed.addAll(bs);
        int maps = bo.mappingCount();
        int want = bs.size() + maps + (bo.handleHeld() ? 1 : 0);
        if (bo.refs() != want) {
            out.add(new Violation(bo.name(), "bo-refs-equal-bindings", bo.refs() + " references but " + bs.size()
                    + " bindings, " + maps + " CPU mappings" + (bo.handleHeld() ? " and the handle's" : "")));
        }
        if (bo.privateTo() != null && bo.shmem().home() != bo.privateTo().reclaimDomain()) {
            out.add(new Violation(bo.name(), "private-bo-home-is-its-vm", "home " + bo.shmem().home().name()
                    + " but the BO is private to " + bo.privateTo().name()));
        }
        boolean reclaimed = s.evicted() || s.discarded();
        for (VmBinding b : bs) {
            if (!b.vm().bindings().contains(b)) {
                out.add(new Violation(bo.name(), "binding-in-vm", b + " is not in its VM"));
            }
            if (bo.privateTo() != null && b.vm() != bo.privateTo()) {
                out.add(new Violation(bo.name(), "private-bo-in-its-vm", b + " but the BO is private to "
                        + bo.privateTo().name()));
            }
            int[] ptes = b.ptes();
            for (int i = 0; i < ptes.length; i++) {
                if (ptes[i] < 0) {
                    continue;
                }
                if (reclaimed) {
                    out.add(new Violation(bo.name(), "reclaimed-has-no-pte", "page " + (b.firstPage() + i)
                            + " is mapped to frame " + ptes[i] + " in " + b.vm().name() + " but the BO is "
                            + (s.evicted() ? "evicted" : "discarded")));
                    break;
                }
                int pfn = s.pfns() == null ? -1 : s.pfns()[b.firstPage() + i];
                if (ptes[i] != pfn) {
                    out.add(new Violation(bo.name(), "pte-matches-page", "page " + (b.firstPage() + i) + " is mapped"
                            + " to frame " + ptes[i] + " in " + b.vm().name() + " but the BO holds frame " + pfn));
                    break;
                }
            }
        }
    }

    private static void checkHeap(TilerHeap h, List<Violation> out) {
        ObjectState s = h.shmem().inspect();
        int chunks = h.chunks();
        int uses = s.owners(OwnerKind.PAGES_HEAP_CHUNKS);
        if (uses != (chunks > 0 ? 1 : 0) || h.holdsUse() != (chunks > 0)
                || s.residentPages() != chunks * h.chunkPages()) {
            out.add(new Violation(h.name(), "heap-use-owned-by-heap", uses + " heap page uses and "
                    + s.residentPages() + " resident pages with " + chunks + " chunks of " + h.chunkPages()));
        }
    }

    /** Stops the GPU thread after the queued jobs (waiting 30 s at most) and closes the core device. */
    @Override
    public void close() {
        gpu.shutdown();
        try {
            gpu.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            gem.close();
        }
    }

    /**
     * Builds a {@link PanthorDevice}: the settings every device has (see {@link DeviceBuilder}; the default name is
     * {@code panthor}, which names the GPU thread); the shrinker is always {@value PanthorDevice#SHRINKER_NAME}.
     */
    public static final class Builder extends DeviceBuilder<Builder> {
        private Builder() {
            super(DRIVER_NAME);
            shrinker(SHRINKER_NAME, s -> new NoProgressLimit(s, EMPTY_SCANS_BEFORE_STOP));
            reclaimStages(PanthorStages.STAGES);
            // A Panthor job finishes without taking any lock (it leaves its VM's in-flight set, then its fence
            // signals), so reclaim run under a reservation lock may wait for fences.
            reclaimUnderResvMayBlock();
        }

        /**
         * Builds the device and starts its GPU thread.
         *
         * @return the device
         */
        public PanthorDevice build() {
            return new PanthorDevice(buildGemDevice(), name());
        }
    }
}
