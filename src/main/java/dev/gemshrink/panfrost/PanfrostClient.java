package dev.gemshrink.panfrost;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.Madv;
import dev.gemshrink.locking.AcquireContext;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.ResvLock;
import dev.gemshrink.locking.TrackedLock;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.stats.Fdinfo;
import dev.gemshrink.stats.GemsTable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A client of the device (a DRM file): its own GPU address space and its handles, each of which is a
 * {@link GpuMapping} of a BO in that address space.
 *
 * <p>Thread safety: methods may be called from any thread. This client's handle lock guards the handle table, the
 * slots of opens in progress and the closed flag; it is held only for table operations and for taking mapping
 * references (an atomic get unless zero), never while calling into a BO or an address space. Each table entry owns
 * one reference of its mapping: whoever removes the entry (under the handle lock) drops that reference (outside it).
 */
public final class PanfrostClient implements AutoCloseable {
    private final PanfrostDevice dev;
    private final long id;
    private final String name;
    private final GpuAddressSpace as;
    /** The lock class of every client's handle-table lock (a leaf). */
    static final LockClass HANDLE_LOCK = LockClass.named("PanfrostClient.handleLock");

    private final TrackedLock handleLock;
    private final Map<PanfrostBo, GpuMapping> handles = new LinkedHashMap<>(); // guarded by handleLock
    private final Set<PanfrostBo> opening = new HashSet<>(); // guarded by handleLock: slots of opens in progress
    private boolean closed; // guarded by handleLock: once set, no handle is added again

    PanfrostClient(PanfrostDevice dev, long id, String name) {
        this.dev = dev;
        this.id = id;
        this.name = name;
        this.handleLock = new TrackedLock(HANDLE_LOCK, name);
        this.as = new GpuAddressSpace(dev, name);
    }

    /**
     * Returns the client's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the client's id, unique on its device (fdinfo's {@code drm-client-id}); clients are numbered from 1
     * in the order they were opened.
     *
     * @return the id
     */
    public long id() {
        return id;
    }

    /**
     * Returns this client's fdinfo memory statistics over the BOs it holds a handle to: shared are those open in
     * another client too (or exported), resident counts the pages in RAM (a heap BO's populated chunks), active the
     * resident bytes of BOs busy on the GPU, purgeable the resident bytes of idle DONTNEED BOs, evicted the bytes in
     * swap. Each BO is read under its reservation lock (so the caller must hold none), one after the other.
     *
     * @return the statistics; {@link Fdinfo#text()} prints them as the kernel does
     */
    public Fdinfo fdinfo() {
        Fdinfo.Builder b = Fdinfo.builder(PanfrostDevice.DRIVER_NAME, id);
        for (PanfrostBo bo : bos()) {
            PanfrostBo.Usage u = bo.usage();
            GemsTable.Row r = u.row();
            b.add(r.size(), r.mappings() > 1 || u.exported(), (long) r.residentPages() * PagePool.PAGE_SIZE,
                    r.madv().equals("dontneed"), u.busy(), (long) r.swappedPages() * PagePool.PAGE_SIZE);
        }
        return b.build();
    }

    /**
     * Returns the device.
     *
     * @return the device
     */
    public PanfrostDevice device() {
        return dev;
    }

    /**
     * Returns the client's GPU address space.
     *
     * @return the MMU context
     */
    public GpuAddressSpace addressSpace() {
        return as;
    }

    /**
     * Creates a BO and opens it here (a normal BO becomes resident: its sg table is built and mapped; a heap BO only
     * reserves VA).
     *
     * @param name  a name for messages, or null
     * @param size  the size in bytes (rounded up to pages; heap BOs to 2 MiB)
     * @param flags {@link BoFlags}
     * @return the BO
     * @throws GemException EINVAL for size 0, unknown flags, or HEAP without NOEXEC; ENOMEM when it cannot be made
     *                      resident; ENOENT when this client is closed (the new BO is freed again)
     */
    public PanfrostBo createBo(String name, long size, int flags) {
        PanfrostBo bo = dev.newBo(this, name, size, flags);
        try {
            open(bo);
        } finally {
            bo.dropCreatorRef(); // the handle opened here holds the BO from now on
        }
        return bo;
    }

    /**
     * Opens an existing BO in this client: maps it in this address space. Atomic against the handle table: the
     * open first reserves the BO's slot, so of two concurrent opens of one BO here exactly one maps it and the
     * other fails with EINVAL at once, as when the BO is already open (the driver keeps one mapping per BO and
     * client, so unlike the kernel's handle table, a second handle of the same BO is refused, not created). An
     * open that completes after {@link #close()} has begun undoes its mapping and fails with ENOENT.
     *
     * @param bo the BO
     * @return its mapping here
     * @throws GemException EINVAL when already open (or being opened) here; ENOMEM when it cannot be made resident
     *                      (purged) or no VA range is left; ENOENT when the BO is freed (its last handle was
     *                      closed) or this client is closed
     */
    public GpuMapping open(PanfrostBo bo) {
        handleLock.lock();
        try {
            if (closed) {
                throw new GemException(Errno.ENOENT, "cannot open " + bo.name() + ": " + name + " is closed");
            }
            if (handles.containsKey(bo) || !opening.add(bo)) {
                throw new GemException(Errno.EINVAL, bo.name() + " is already open in " + name);
            }
        } finally {
            handleLock.unlock();
        }
        GpuMapping m;
        try {
            m = bo.openIn(as);
        } catch (Throwable t) {
            handleLock.lock();
            try {
                opening.remove(bo);
            } finally {
                handleLock.unlock();
            }
            throw t;
        }
        boolean installed = false;
        try {
            handleLock.lock();
            try {
                opening.remove(bo);
                if (!closed) {
                    handles.put(bo, m);
                    installed = true;
                }
            } finally {
                handleLock.unlock();
            }
        } finally {
            if (!installed) {
                m.put(); // not in the table: nobody else will drop the mapping's first reference
            }
        }
        if (!installed) {
            throw new GemException(Errno.ENOENT, "cannot open " + bo.name() + ": " + name + " was closed meanwhile");
        }
        return m;
    }

    /**
     * Closes this client's handle of a BO, which releases its mapping here (once no job holds it).
     *
     * @param bo the BO
     * @throws GemException ENOENT when the BO is not open here
     */
    public void close(PanfrostBo bo) {
        handle(bo, true).put();
    }

    /**
     * Returns this client's mapping of a BO.
     *
     * @param bo the BO
     * @return the mapping
     * @throws GemException ENOENT when the BO is not open here
     */
    public GpuMapping mapping(PanfrostBo bo) {
        return handle(bo, false);
    }

    /** This client's handle of a BO, looked up (or removed) under the handle-table lock; ENOENT when absent. */
    private GpuMapping handle(PanfrostBo bo, boolean remove) {
        GpuMapping m;
        handleLock.lock();
        try {
            m = remove ? handles.remove(bo) : handles.get(bo);
        } finally {
            handleLock.unlock();
        }
        if (m == null) {
            throw new GemException(Errno.ENOENT, bo.name() + " is not open in " + name);
        }
        return m;
    }

    /** Returns the mappings this client's handles hold (one reference each), for the checker. */
    List<GpuMapping> handleMappings() {
        handleLock.lock();
        try {
            return new ArrayList<>(handles.values());
        } finally {
            handleLock.unlock();
        }
    }

    /**
     * Returns the BOs open in this client.
     *
     * @return a snapshot, in opening order
     */
    public List<PanfrostBo> bos() {
        handleLock.lock();
        try {
            return new ArrayList<>(handles.keySet());
        } finally {
            handleLock.unlock();
        }
    }

    /**
     * The madvise ioctl.
     *
     * @param bo     a BO open in this client
     * @param advice WILLNEED or DONTNEED
     * @return retained: false once purged (heap BOs: always true, and nothing changes)
     * @throws GemException EINVAL for DONTNEED on a BO mapped in another client; ENOENT when not open here
     */
    public boolean madvise(PanfrostBo bo, Madv advice) {
        mapping(bo);
        return bo.madvise(as, advice);
    }

    /**
     * Submits a job using some BOs open in this client. Takes a reference on each BO's mapping here (atomically
     * with the handle lookup, so a concurrent {@link #close(PanfrostBo)} either comes after, and the job keeps the
     * mapping until it finishes, or before, and the submit fails with ENOENT), locks all the BOs with an acquire
     * context (wait-die, so concurrent submissions never deadlock), refuses any BO that is not WILLNEED (ENOMEM),
     * swaps evicted BOs back in and maps them again, attaches the job's fence, and queues the job on the GPU.
     *
     * <p>A failed submit, whatever it throws, drops the references it took, releases the locks and leaves no fence
     * unsignalled: no handle, mapping reference or busy state changes. Residency is the one exception, as in the
     * kernel: BOs that validation already swapped in (and mapped again) before a later BO failed stay resident.
     * Residency is not state the caller owns (the shrinker may evict them again at any time, and they are mapped
     * consistently meanwhile), while undoing it would mean re-evicting, which costs a swap write and can fail.
     *
     * @param jobName a name for messages
     * @param bos     the BOs the job uses
     * @param work    what the job does on the GPU
     * @param hold    whether the job also waits for {@link Job#complete()} before it finishes
     * @return the job
     * @throws GemException ENOENT when a BO is not open here; ENOMEM when one is not WILLNEED or cannot be made
     *                      resident; EFAULT when a swap-in fails; EINVAL when the device is closed
     */
    public Job submit(String jobName, List<PanfrostBo> bos, GpuWork work, boolean hold) {
        List<PanfrostBo> unique = new ArrayList<>(new LinkedHashSet<>(bos));
        List<ResvLock> locks = new ArrayList<>(unique.size());
        for (PanfrostBo bo : unique) {
            locks.add(bo.shmem().resv());
        }
        List<GpuMapping> ms = acquireAll(unique);
        Job job = null;
        try {
            job = new Job(jobName, this, ms, work, hold);
            try (AcquireContext ctx = new AcquireContext()) {
                ctx.lockAll(locks);
                for (PanfrostBo bo : unique) {
                    if (bo.shmem().madv() != Madv.WILLNEED) {
                        throw new GemException(Errno.ENOMEM, "job " + jobName + ": " + bo.name() + " is "
                                + bo.shmem().madv().name().toLowerCase(java.util.Locale.ROOT));
                    }
                }
                // On failure part way, the BOs swapped in so far stay resident and mapped (see the Javadoc).
                for (PanfrostBo bo : unique) {
                    bo.validateLocked();
                }
                for (PanfrostBo bo : unique) {
                    bo.attachFenceLocked(job.fence());
                }
            }
            dev.queue(job);
            return job;
        } catch (Throwable t) {
            // The locks are released by now; dropping a reference may free a BO whose handle was closed meanwhile.
            if (job != null) {
                job.abandon();
            }
            Throwable put = Cleanup.putAll(ms);
            if (put != null) {
                t.addSuppressed(put);
            }
            throw t;
        }
    }

    /**
     * Takes one reference on this client's mapping of each BO, each atomically with its handle lookup (under the
     * handle lock, so a handle found is still installed and its reference is still held).
     *
     * @throws GemException ENOENT when a BO is not open here; the references taken are dropped again
     */
    private List<GpuMapping> acquireAll(List<PanfrostBo> wanted) {
        GpuMapping[] taken = new GpuMapping[wanted.size()];
        List<GpuMapping> view = Arrays.asList(taken); // allocated before any reference is taken
        int n = 0;
        PanfrostBo missing = null;
        handleLock.lock();
        try {
            for (PanfrostBo bo : wanted) {
                GpuMapping m = handles.get(bo);
                if (m == null || !m.tryGet()) {
                    missing = bo;
                    break;
                }
                taken[n++] = m;
            }
        } finally {
            handleLock.unlock();
        }
        if (missing == null) {
            return view;
        }
        GemException e = new GemException(Errno.ENOENT, missing.name() + " is not open in " + name);
        Throwable put = Cleanup.putAll(view.subList(0, n));
        if (put != null) {
            e.addSuppressed(put);
        }
        throw e;
    }

    /**
     * Simulates the GPU of this client touching a heap BO at {@code offset}: the heap-fault callback grows the heap
     * by the 2 MiB chunk holding it (a no-op when already there).
     *
     * @param bo     a heap BO open here
     * @param offset the byte offset in the BO
     * @return true when a chunk was populated
     * @throws GemException EINVAL for a non-heap BO or an offset beyond its size; ENOMEM when the chunk cannot be
     *                      allocated (nothing is then allocated); ENOENT when not open here
     */
    public boolean fault(PanfrostBo bo, long offset) {
        GpuMapping m = mapping(bo);
        if (offset < 0 || offset >= bo.size()) {
            throw new GemException(Errno.EINVAL, "fault at offset " + offset + " is outside " + bo.name());
        }
        return bo.heapFault(m, m.va() + offset);
    }

    /**
     * Closes the client: marks it closed and empties its handle table in one step under the handle lock (so an open in
     * progress cannot add a handle afterwards, and a concurrent {@link #close(PanfrostBo)} finds each handle either
     * still here or already taken, never both), then drops the swept mappings' references, every one even when
     * some release fails (the first failure is rethrown). Idempotent.
     */
    @Override
    public void close() {
        List<GpuMapping> swept;
        handleLock.lock();
        try {
            swept = new ArrayList<>(handles.values()); // allocate before changing anything
            closed = true;
            handles.clear();
        } finally {
            handleLock.unlock();
        }
        try {
            Throwable failed = Cleanup.putAll(swept);
            if (failed != null) {
                throw Cleanup.rethrow(failed);
            }
        } finally {
            try {
                as.close();
            } finally {
                dev.forget(this);
            }
        }
    }

    @Override
    public String toString() {
        return "PanfrostClient[" + name + "]";
    }
}
