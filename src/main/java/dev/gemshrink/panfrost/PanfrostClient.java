package dev.gemshrink.panfrost;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.Madv;
import dev.gemshrink.locking.AcquireContext;
import dev.gemshrink.locking.ResvLock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A client of the device (a DRM file): its own GPU address space and its handles, each of which is a
 * {@link GpuMapping} of a BO in that address space.
 *
 * <p>Thread safety: methods may be called from any thread; the handle table is guarded by this client's monitor,
 * which is never held while calling into a BO.
 */
public final class PanfrostClient implements AutoCloseable {
    private final PanfrostDevice dev;
    private final String name;
    private final GpuAddressSpace as;
    private final Map<PanfrostBo, GpuMapping> handles = new LinkedHashMap<>(); // guarded by this
    // BOs whose open is in progress here: the handle slot is taken before the mapping is made, so two concurrent
    // opens of one BO cannot both map it. Guarded by this.
    private final java.util.Set<PanfrostBo> opening = new java.util.HashSet<>();
    private boolean closed; // guarded by this: set by close(); no handle is added afterwards

    PanfrostClient(PanfrostDevice dev, String name) {
        this.dev = dev;
        this.name = name;
        this.as = new GpuAddressSpace(name);
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
     *                      resident
     */
    public PanfrostBo createBo(String name, long size, int flags) {
        PanfrostBo bo = dev.newBo(name, size, flags);
        try {
            open(bo);
        } finally {
            bo.unref(); // the creator's reference: the handle opened here holds the BO from now on
        }
        return bo;
    }

    /**
     * Opens an existing BO in this client: maps it in this address space.
     *
     * @param bo the BO
     * @return its mapping here
     * @throws GemException EINVAL when already open here; ENOMEM when it cannot be made resident (purged) or no VA
     *                      range is left; ENOENT when the BO is freed (its last handle was closed)
     */
    public GpuMapping open(PanfrostBo bo) {
        // Check and take the handle slot in one step under the table's lock; map outside it (mapping takes the
        // BO's reservation lock, which comes before this leaf in the lock order).
        synchronized (this) {
            if (closed) {
                throw new GemException(Errno.ENOENT, name + " is closed");
            }
            if (handles.containsKey(bo) || !opening.add(bo)) {
                throw new GemException(Errno.EINVAL, bo.name() + " is already open in " + name);
            }
        }
        GpuMapping m;
        try {
            m = bo.openIn(as);
        } catch (Throwable t) {
            synchronized (this) {
                opening.remove(bo);
            }
            throw t;
        }
        boolean lost;
        synchronized (this) {
            opening.remove(bo);
            lost = closed;
            if (!lost) {
                handles.put(bo, m);
            }
        }
        if (lost) {
            m.put(); // the client closed while we mapped: nothing may stay behind
            throw new GemException(Errno.ENOENT, name + " was closed while " + bo.name() + " was being opened");
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
        GpuMapping m;
        synchronized (this) {
            m = handles.remove(bo);
        }
        if (m == null) {
            throw new GemException(Errno.ENOENT, bo.name() + " is not open in " + name);
        }
        m.put();
    }

    /**
     * Returns this client's mapping of a BO.
     *
     * @param bo the BO
     * @return the mapping
     * @throws GemException ENOENT when the BO is not open here
     */
    public synchronized GpuMapping mapping(PanfrostBo bo) {
        GpuMapping m = handles.get(bo);
        if (m == null) {
            throw new GemException(Errno.ENOENT, bo.name() + " is not open in " + name);
        }
        return m;
    }

    /**
     * Returns the BOs open in this client.
     *
     * @return a snapshot, in opening order
     */
    public synchronized List<PanfrostBo> bos() {
        return new ArrayList<>(handles.keySet());
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
     * Submits a job using some BOs open in this client. Locks all of them with an acquire context (wait-die, so
     * concurrent submissions never deadlock), refuses any BO that is not WILLNEED (ENOMEM), swaps evicted BOs back
     * in and maps them again, attaches the job's fence, and queues the job on the GPU.
     *
     * @param jobName a name for messages
     * @param bos     the BOs the job uses
     * @param work    what the job does on the GPU
     * @param hold    whether the job also waits for {@link Job#complete()} before it finishes
     * @return the job
     * @throws GemException ENOENT when a BO is not open here; ENOMEM when one is not WILLNEED or cannot be made
     *                      resident
     */
    public Job submit(String jobName, List<PanfrostBo> bos, GpuWork work, boolean hold) {
        List<PanfrostBo> unique = new ArrayList<>(new LinkedHashSet<>(bos));
        List<GpuMapping> ms = takeMappings(unique);
        boolean queued = false;
        try {
            List<ResvLock> locks = new ArrayList<>();
            for (PanfrostBo bo : unique) {
                locks.add(bo.shmem().resv());
            }
            Job job;
            try (AcquireContext ctx = new AcquireContext()) {
                ctx.lockAll(locks);
                for (PanfrostBo bo : unique) {
                    if (bo.shmem().madv() != Madv.WILLNEED) {
                        throw new GemException(Errno.ENOMEM, "job " + jobName + ": " + bo.name() + " is "
                                + bo.shmem().madv().name().toLowerCase(java.util.Locale.ROOT));
                    }
                }
                // A failure part way leaves the BOs validated so far resident (and mapped): residency is the
                // driver's business, not state the caller owns, as in the kernel; no reference, fence or handle
                // changes.
                for (PanfrostBo bo : unique) {
                    bo.validateLocked();
                }
                job = new Job(jobName, this, ms, work, hold);
                for (PanfrostBo bo : unique) {
                    bo.attachFenceLocked(job.fence());
                }
            }
            dev.queue(job);
            queued = true;
            return job;
        } finally {
            if (!queued) {
                for (GpuMapping m : ms) {
                    m.put();
                }
            }
        }
    }

    /**
     * Looks up this client's mapping of each BO and takes a reference on it, all under the handle table's lock:
     * a handle holds its mapping, so a mapping found in the table cannot be at zero, and a concurrent close either
     * ran before (ENOENT) or after (the job's reference keeps the mapping). On ENOENT nothing stays taken.
     */
    private List<GpuMapping> takeMappings(List<PanfrostBo> unique) {
        List<GpuMapping> ms = new ArrayList<>();
        synchronized (this) {
            for (PanfrostBo bo : unique) {
                GpuMapping m = handles.get(bo);
                if (m == null) {
                    break;
                }
                m.get();
                ms.add(m);
            }
        }
        if (ms.size() < unique.size()) {
            PanfrostBo missing = unique.get(ms.size());
            for (GpuMapping m : ms) {
                m.put();
            }
            throw new GemException(Errno.ENOENT, missing.name() + " is not open in " + name);
        }
        return ms;
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

    /** Closes every handle of this client. */
    @Override
    public void close() {
        List<GpuMapping> ms;
        synchronized (this) {
            closed = true; // an open still in progress sees it and undoes its mapping
            ms = new ArrayList<>(handles.values());
            handles.clear();
        }
        for (GpuMapping m : ms) {
            m.put();
        }
        dev.forget(this);
    }

    @Override
    public String toString() {
        return "PanfrostClient[" + name + "]";
    }
}
