package dev.gemshrink.panfrost;

import dev.gemshrink.GemException;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.DeviceBuilder;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.core.OwnerKind;
import dev.gemshrink.reclaim.BackgroundReclaimer;
import dev.gemshrink.stats.GemsTable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A Panfrost-like device over the generic core: a {@link GemDevice} (page pool, swap, LRUs, shrinker), clients with
 * their own GPU address spaces, BOs with the driver's evictor and heap-fault callback, and a simulated GPU thread
 * that runs jobs.
 *
 * <p>Lock order of the driver: BO reservation locks (several only through an acquire context) -> a BO's mapping
 * lock -> an address space's lock -> the core's leaves (LRU lock, page pool, swap store). A client's handle-table
 * lock is a leaf too: under it a client only looks up, adds and removes handles and takes mapping references
 * (an atomic get unless zero); it is never held while calling into a BO or an address space, and whoever removes a
 * handle drops its reference after leaving it. The GPU's lifecycle lock (queueing versus close) is a leaf. The
 * GPU thread takes a reservation lock only in the heap-fault callback, and never while holding an address space
 * lock. The device's sets of BOs, clients, address spaces and jobs in flight are concurrent sets. Every one of these
 * locks is a {@link dev.gemshrink.locking.TrackedLock} or a reservation lock, so the
 * {@link dev.gemshrink.locking.LockValidator} checks this order when validation is on.
 *
 * <p>Failures: every multi-step driver operation restores what it took on any throwable (an Error included) and
 * rethrows it; a failed call changes no handle, reference, mapping, VA range or fence (a failed submit may leave
 * BOs it swapped in resident, see {@link PanfrostClient#submit}). A job's work may throw anything: the job fails
 * alone and the GPU thread goes on.
 */
public final class PanfrostDevice implements AutoCloseable {
    /** The driver's name, as fdinfo prints it ({@code drm-driver}). */
    public static final String DRIVER_NAME = "panfrost";

    private final GemDevice gem;
    private final Gpu gpu;
    private final Set<PanfrostBo> bos = ConcurrentHashMap.newKeySet();
    private final Set<PanfrostClient> clients = ConcurrentHashMap.newKeySet();
    // Address spaces from their client's opening until the client is closed and their last mapping is released.
    private final Set<GpuAddressSpace> spaces = ConcurrentHashMap.newKeySet();
    // Jobs from queueing until they have dropped their references (each holds one per mapping meanwhile).
    private final Set<Job> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicLong boIds = new AtomicLong();
    private final AtomicLong clientIds = new AtomicLong();
    private final LongAdder jobsSubmitted = new LongAdder();
    private final LongAdder jobsDone = new LongAdder();
    private final LongAdder jobsFaulted = new LongAdder();
    private final LongAdder gpuFaults = new LongAdder();
    private final LongAdder heapChunks = new LongAdder();
    private volatile BackgroundReclaimer reclaimer;

    private PanfrostDevice(GemDevice gem, String name) {
        this.gem = gem;
        this.gpu = new Gpu(this, name);
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
     * Opens a client (a DRM file) with its own GPU address space.
     *
     * @param name a name for messages
     * @return the client
     */
    public PanfrostClient openClient(String name) {
        PanfrostClient c = new PanfrostClient(this, clientIds.incrementAndGet(), name);
        spaces.add(c.addressSpace());
        clients.add(c);
        return c;
    }

    /**
     * Starts a kswapd-like background reclaimer on the device's pool (idempotent).
     *
     * @param low  wake when fewer pages are free
     * @param high reclaim until this many pages are free
     * @return the reclaimer
     */
    public synchronized BackgroundReclaimer startBackgroundReclaimer(int low, int high) {
        if (reclaimer == null) {
            reclaimer = new BackgroundReclaimer(gem.pool(), gem.shrinkers(), low, high).start();
        }
        return reclaimer;
    }

    PanfrostBo newBo(PanfrostClient creator, String name, long size, int flags) {
        PanfrostBo bo = PanfrostBo.create(this, creator.name(), name != null ? name : "bo#" + boIds.incrementAndGet(),
                size, flags);
        bos.add(bo);
        return bo;
    }

    /**
     * Queues a job on the GPU.
     *
     * @throws GemException EINVAL when the device is closed (nothing is counted then)
     */
    void queue(Job job) {
        jobsSubmitted.increment();
        inFlight.add(job);
        try {
            gpu.submit(job);
        } catch (Throwable t) {
            inFlight.remove(job);
            jobsSubmitted.decrement();
            throw t;
        }
    }

    /** A job has dropped its references (it is about to signal its fence). */
    void jobFinished(Job job) {
        inFlight.remove(job);
        if (job.status() == Job.Status.FAULTED) {
            jobsFaulted.increment();
        } else {
            jobsDone.increment();
        }
    }

    void forget(PanfrostBo bo) {
        bos.remove(bo);
    }

    void forget(PanfrostClient c) {
        clients.remove(c);
    }

    void forget(GpuAddressSpace as) {
        spaces.remove(as);
    }

    void countGpuFault() {
        gpuFaults.increment();
    }

    void countHeapChunk() {
        heapChunks.increment();
    }

    /**
     * Returns the live BOs.
     *
     * @return a snapshot
     */
    public List<PanfrostBo> bos() {
        return List.copyOf(bos);
    }

    /**
     * Returns the open clients.
     *
     * @return a snapshot
     */
    public List<PanfrostClient> clients() {
        return List.copyOf(clients);
    }

    /**
     * Returns the device's table of BOs (debugfs {@code gems}): one row per live BO, sorted by name, and the pages
     * the device's shrinker reclaimed in its last scan. Each row is read under its BO's reservation lock (so the
     * caller must hold none), the rows one after the other.
     *
     * @return the table
     */
    public GemsTable gems() {
        List<GemsTable.Row> rows = new ArrayList<>();
        for (PanfrostBo bo : bos()) {
            rows.add(bo.usage().row());
        }
        rows.sort(Comparator.comparing(GemsTable.Row::name));
        return new GemsTable(rows, gem.shrinker().lastScanFreed());
    }

    /**
     * Returns the driver's counters.
     *
     * @return a snapshot
     */
    public Stats stats() {
        return new Stats(jobsSubmitted.sum(), jobsDone.sum(), jobsFaulted.sum(), gpuFaults.sum(), heapChunks.sum());
    }

    /**
     * The driver's counters.
     *
     * @param jobsSubmitted jobs queued
     * @param jobsDone      jobs finished without a fault
     * @param jobsFaulted   jobs that faulted
     * @param gpuFaults     heap faults resolved by the heap-fault callback inside jobs
     * @param heapChunks    2 MiB heap chunks populated
     */
    public record Stats(long jobsSubmitted, long jobsDone, long jobsFaulted, long gpuFaults, long heapChunks) {
    }

    /**
     * Checks every invariant: the core's ({@link InvariantChecker}) plus the driver's:
     * <ul>
     * <li>every mapping reference has a holder: each mapping's count equals the handles (of open clients) and the
     * jobs in flight that hold it ({@code mapping-refs-equal-holders}); a handle's mapping is live and in its
     * client's address space ({@code handle-has-live-mapping});</li>
     * <li>a BO's references equal its live mappings, plus the creator's while it is being created
     * ({@code bo-refs-equal-mappings}); each of its mappings is in its address space
     * ({@code mapping-in-address-space}) and every VA range belongs to a mapping its live BO lists
     * ({@code va-range-has-owner});</li>
     * <li>every mapped GPU page points at the frame its BO holds for that page now (no stale entry survives an
     * eviction or purge), a busy normal BO is resident, and a heap BO's page use is its chunk table's;</li>
     * <li>once every client is closed and every job has finished, the device holds nothing: no BO, mapping, VA
     * range, object, RAM page or swap page ({@code device-holds-nothing}).</li>
     * </ul>
     * Exact only when nothing else is running (an open, submit or close in progress holds references that no
     * table shows yet).
     *
     * @return the violations
     */
    public List<Violation> check() {
        List<Violation> out = new ArrayList<>(InvariantChecker.check(gem));
        List<PanfrostBo> liveBos = bos();
        List<PanfrostClient> openClients = clients();
        List<Job> jobs = List.copyOf(inFlight);
        Map<GpuAddressSpace, List<GpuMapping>> byAs = new IdentityHashMap<>();
        for (GpuAddressSpace as : List.copyOf(spaces)) {
            byAs.put(as, as.mappings());
        }
        Map<GpuMapping, Integer> holders = new IdentityHashMap<>();
        List<GpuMapping> handled = new ArrayList<>();
        for (PanfrostClient c : openClients) {
            for (GpuMapping m : c.handleMappings()) {
                holders.merge(m, 1, Integer::sum);
                handled.add(m);
                if (m.addressSpace() != c.addressSpace()) {
                    out.add(new Violation(c.name(), "handle-has-live-mapping", "the handle of " + m.bo().name()
                            + " is " + m + ", outside the client's address space"));
                }
            }
        }
        for (Job j : jobs) {
            for (GpuMapping m : j.mappings()) {
                holders.merge(m, 1, Integer::sum);
            }
        }
        Set<GpuMapping> listed = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<PanfrostBo> bosLive = Collections.newSetFromMap(new IdentityHashMap<>());
        bosLive.addAll(liveBos);
        for (PanfrostBo bo : liveBos) {
            checkBo(bo, byAs, listed, out);
        }
        for (GpuMapping m : handled) {
            if (!listed.contains(m)) {
                out.add(new Violation(m.bo().name(), "handle-has-live-mapping", "a handle holds " + m
                        + ", which its BO no longer lists (released)"));
            }
        }
        Set<GpuMapping> all = Collections.newSetFromMap(new IdentityHashMap<>());
        all.addAll(listed);
        all.addAll(holders.keySet());
        for (Map.Entry<GpuAddressSpace, List<GpuMapping>> e : byAs.entrySet()) {
            for (GpuMapping m : e.getValue()) {
                all.add(m);
                if (!listed.contains(m) || !bosLive.contains(m.bo())) {
                    out.add(new Violation(e.getKey().name(), "va-range-has-owner", m + " holds VA but "
                            + (bosLive.contains(m.bo()) ? "its BO does not list it" : "its BO is freed")));
                }
            }
        }
        for (GpuMapping m : all) {
            int want = holders.getOrDefault(m, 0);
            if (m.refs() != want) {
                out.add(new Violation(m.bo().name(), "mapping-refs-equal-holders", m + " has " + m.refs()
                        + " references but " + want + " holders (handles of open clients and jobs in flight)"));
            }
        }
        if (openClients.isEmpty() && jobs.isEmpty()) {
            checkHoldsNothing(liveBos, byAs, out);
        }
        return out;
    }

    /** The per-BO part of {@link #check()}; collects the BO's mappings into {@code listed}. */
    private static void checkBo(PanfrostBo bo, Map<GpuAddressSpace, List<GpuMapping>> byAs, Set<GpuMapping> listed,
            List<Violation> out) {
        ObjectState s = bo.shmem().inspect();
        List<GpuMapping> ms = bo.mappings();
        listed.addAll(ms);
        int want = ms.size() + (bo.creatorRefHeld() ? 1 : 0);
        if (bo.refs() != want) {
            out.add(new Violation(bo.name(), "bo-refs-equal-mappings", bo.refs() + " references but " + ms.size()
                    + " mappings" + (bo.creatorRefHeld() ? " and the creator's" : "")));
        }
        for (GpuMapping m : ms) {
            List<GpuMapping> there = byAs.get(m.addressSpace());
            if (there == null || !there.contains(m)) {
                out.add(new Violation(bo.name(), "mapping-in-address-space", m + " is not in its address space"
                        + (there == null ? " (which the device no longer knows)" : "")));
            }
            checkPtes(bo, m, s.pfns(), out);
        }
        if (!bo.isHeap() && bo.isBusy() && s.pfns() == null && !s.freed()) {
            out.add(new Violation(bo.name(), "busy-is-resident", "busy on the GPU but not resident"));
        }
        if (bo.isHeap()) {
            int chunkUses = s.owners(OwnerKind.PAGES_HEAP_CHUNKS);
            if (chunkUses != (bo.heapChunks() > 0 || s.pfns() != null ? 1 : 0)) {
                out.add(new Violation(bo.name(), "heap-use-owned-by-chunk-table", chunkUses
                        + " chunk-table uses with " + bo.heapChunks() + " chunks"));
            }
        }
    }

    /** Every mapped page of a mapping points at the frame its BO holds (O(pages mapped)); reports the first. */
    private static void checkPtes(PanfrostBo bo, GpuMapping m, int[] pfns, List<Violation> out) {
        for (Map.Entry<Integer, int[]> e : m.addressSpace().chunksSnapshot(m).entrySet()) {
            int[] t = e.getValue();
            int first = e.getKey() << GpuMapping.CHUNK_SHIFT;
            for (int i = 0; i < t.length; i++) {
                int pfn = pfns == null ? -1 : pfns[first + i];
                if (t[i] >= 0 && t[i] != pfn) {
                    out.add(new Violation(bo.name(), "pte-matches-page", "page " + (first + i) + " is mapped to"
                            + " frame " + t[i] + " in " + m.addressSpace().name() + " but the BO holds frame " + pfn));
                    return;
                }
            }
        }
    }

    /** No client is open and no job in flight: nothing may be left. */
    private void checkHoldsNothing(List<PanfrostBo> liveBos, Map<GpuAddressSpace, List<GpuMapping>> byAs,
            List<Violation> out) {
        String subject = "device";
        if (!liveBos.isEmpty()) {
            out.add(new Violation(subject, "device-holds-nothing", liveBos.size() + " BOs left: "
                    + liveBos.stream().map(PanfrostBo::name).toList()));
        }
        for (Map.Entry<GpuAddressSpace, List<GpuMapping>> e : byAs.entrySet()) {
            if (!e.getValue().isEmpty()) {
                out.add(new Violation(subject, "device-holds-nothing", e.getValue().size() + " mappings (VA ranges)"
                        + " left in " + e.getKey().name() + ": " + e.getValue()));
            }
        }
        if (!gem.objects().isEmpty()) {
            out.add(new Violation(subject, "device-holds-nothing", gem.objects().size() + " objects left"));
        }
        if (gem.pool().usedPages() != 0) {
            out.add(new Violation(subject, "device-holds-nothing", gem.pool().usedPages() + " RAM pages in use"));
        }
        if (gem.swap().usedPages() != 0) {
            out.add(new Violation(subject, "device-holds-nothing", gem.swap().usedPages() + " swap pages in use"));
        }
    }

    /** Stops the background reclaimer and the GPU (after the queued jobs), and closes the core device. */
    @Override
    public void close() {
        BackgroundReclaimer r = reclaimer;
        if (r != null) {
            r.close();
        }
        gpu.close();
        gem.close();
    }

    /**
     * Builds a {@link PanfrostDevice}: the settings every device has (see {@link DeviceBuilder}; the default name is
     * {@code panfrost}, which also names the GPU thread).
     */
    public static final class Builder extends DeviceBuilder<Builder> {
        private Builder() {
            super("panfrost");
        }

        /**
         * Builds the device and starts its GPU thread.
         *
         * @return the device
         */
        public PanfrostDevice build() {
            return new PanfrostDevice(buildGemDevice(), name());
        }
    }
}
