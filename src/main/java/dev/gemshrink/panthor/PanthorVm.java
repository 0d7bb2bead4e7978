package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.ReclaimDomain;
import dev.gemshrink.core.ScatterList;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.TrackedLock;
import dev.gemshrink.memory.PagePool;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A GPU virtual address space of a client (a Panthor VM): BO ranges bound at addresses chosen by the caller
 * (VM_BIND-like), the page table entries of those ranges, the tiler heaps of its jobs, and its jobs in flight. A VM
 * with a job in flight is busy: none of the BOs bound in it is reclaimed until the job is done (idleness is tracked
 * per VM). Submitting a job validates the VM first: every BO bound in it that was evicted or discarded is made
 * resident and mapped again.
 *
 * <p>Reclaim: the VM owns a {@link ReclaimDomain}, the home of the BOs private to it, whose reclaimable ones bound
 * here sit on the VM's own list; a submitted job touches it, so the device visits VMs least recently used first.
 *
 * <p>Locking: {@link #lock} guards the ranges, their entries, the heaps and the closed flag. It comes after a BO's
 * reservation and bindings locks, and no page is ever allocated while it is held, so reclaim may take it. A job's
 * GPU access holds it while copying one page, so a teardown that returned has waited for accesses in flight.
 */
public final class PanthorVm {
    /** The lowest GPU address a range may be bound at. */
    public static final long VA_START = 1L << 20;
    /** The end of the GPU address space (exclusive). */
    public static final long VA_END = 1L << 48;
    /** The lock class of every VM's lock. */
    static final LockClass LOCK = LockClass.named("PanthorVm.lock");

    private final PanthorDevice dev;
    private final PanthorClient client;
    private final String name;
    private final TrackedLock lock;
    private final ReclaimDomain domain;
    private final TreeMap<Long, VmBinding> byVa = new TreeMap<>(); // guarded by lock: reserved and bound ranges
    private final List<TilerHeap> heaps = new ArrayList<>(); // guarded by lock
    private boolean closed; // guarded by lock
    // Jobs from submission until done; a VM with any is busy. Read lock-free by reclaim.
    private final Set<PanthorJob> inFlight = ConcurrentHashMap.newKeySet();

    PanthorVm(PanthorDevice dev, PanthorClient client, String name) {
        this.dev = dev;
        this.client = client;
        this.name = name;
        this.lock = new TrackedLock(LOCK, name);
        this.domain = dev.gem().createDomain(name);
    }

    /**
     * Returns the VM's reclaim domain: the home of the BOs private to it.
     *
     * @return the domain
     */
    public ReclaimDomain reclaimDomain() {
        return domain;
    }

    /**
     * Returns the VM's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the client the VM belongs to.
     *
     * @return the client
     */
    public PanthorClient client() {
        return client;
    }

    /**
     * Returns whether a job of this VM has not finished.
     *
     * @return true when busy
     */
    public boolean isBusy() {
        return !inFlight.isEmpty();
    }

    /**
     * Returns the bound ranges, by address.
     *
     * @return a snapshot
     */
    public List<VmBinding> bindings() {
        return locked(() -> new ArrayList<>(byVa.values()));
    }

    /**
     * Returns the VM's tiler heaps.
     *
     * @return a snapshot
     */
    public List<TilerHeap> heaps() {
        return locked(() -> List.copyOf(heaps));
    }

    /**
     * Binds {@code size} bytes of {@code bo}, from byte {@code offset}, at GPU address {@code va}: the BO is made
     * resident and the range mapped. The binding holds a reference on the BO until it is unbound.
     *
     * @param bo     a BO of this VM's client, shareable or private to this VM
     * @param offset where the range starts in the BO, page-aligned
     * @param size   the range's size, positive and page-aligned
     * @param va     where to bind it, page-aligned
     * @return the binding
     * @throws GemException EINVAL for a misaligned, empty or out-of-bounds range, a range overlapping another one,
     *                      or a BO of another client or private to another VM (then nothing changes); ENOENT when
     *                      the VM is closed or the BO freed; ENOMEM when the BO cannot be made resident (the range
     *                      is released again); EFAULT when its swap-in fails
     */
    public VmBinding bind(PanthorBo bo, long offset, long size, long va) {
        if (bo.client() != client) {
            throw new GemException(Errno.EINVAL, "bind " + bo.name() + " in " + name + ": the BO belongs to another"
                    + " client");
        }
        if (bo.privateTo() != null && bo.privateTo() != this) {
            throw new GemException(Errno.EINVAL, "bind " + bo.name() + " in " + name + ": the BO is private to "
                    + bo.privateTo().name());
        }
        checkRange("bind", va, size);
        if (offset < 0 || (offset & (PagePool.PAGE_SIZE - 1)) != 0 || offset > bo.size() - size) {
            throw new GemException(Errno.EINVAL, "bind " + bo.name() + " in " + name + ": range [" + offset + ", +"
                    + size + ") is misaligned or outside the BO of " + bo.size() + " bytes");
        }
        if (!bo.tryRef()) {
            throw new GemException(Errno.ENOENT, "bind " + bo.name() + ": the BO is freed");
        }
        VmBinding b = new VmBinding(this, bo, va, (int) (offset >>> PagePool.PAGE_SHIFT),
                (int) (size >>> PagePool.PAGE_SHIFT));
        boolean reserved = false;
        try {
            reserve(b);
            reserved = true;
            bo.attach(b);
            return b;
        } catch (Throwable t) {
            try {
                if (reserved) {
                    locked(() -> byVa.remove(va, b));
                }
            } finally {
                bo.unref();
            }
            throw t;
        }
    }

    /**
     * Unbinds the range bound at {@code va} with {@code size} bytes (one earlier bind, whole): its entries are
     * cleared, its address range freed and its BO reference dropped (the last one frees the BO).
     *
     * @param va   the range's address
     * @param size the range's size
     * @throws GemException EINVAL when no range was bound with exactly this address and size (nothing changes)
     */
    public void unbind(long va, long size) {
        VmBinding b = locked(() -> {
            VmBinding at = byVa.get(va);
            return at != null && at.size() == size ? at : null;
        });
        if (b == null || !b.bo().detach(b)) {
            throw new GemException(Errno.EINVAL, "unbind [0x" + Long.toHexString(va) + ", +" + size + ") in " + name
                    + ": no range was bound there with that size");
        }
        release(b);
    }

    /**
     * Creates a tiler heap for this VM's jobs: up to {@code maxChunks} chunks of {@code chunkSize} bytes, none
     * allocated yet. It lives until the VM is destroyed.
     *
     * @param heapName  a name for messages
     * @param chunkSize bytes per chunk, positive and page-aligned
     * @param maxChunks the most chunks it may grow to, positive
     * @return the heap
     * @throws GemException EINVAL for a bad size; ENOENT when the VM is closed
     */
    public TilerHeap createTilerHeap(String heapName, long chunkSize, int maxChunks) {
        if (chunkSize <= 0 || (chunkSize & (PagePool.PAGE_SIZE - 1)) != 0 || maxChunks <= 0
                || chunkSize > (long) Integer.MAX_VALUE * PagePool.PAGE_SIZE / maxChunks) {
            throw new GemException(Errno.EINVAL, "tiler heap " + heapName + ": " + maxChunks + " chunks of "
                    + chunkSize + " bytes");
        }
        TilerHeap h = new TilerHeap(dev, heapName, (int) (chunkSize >>> PagePool.PAGE_SHIFT), maxChunks);
        boolean added = locked(() -> !closed && heaps.add(h));
        if (!added) {
            h.destroy();
            throw new GemException(Errno.ENOENT, "cannot create a heap in " + name + ": it is closed");
        }
        return h;
    }

    /**
     * Destroys one of this VM's tiler heaps now, freeing its chunks (like the tiler-heap destroy ioctl). The VM must
     * be idle: a job in flight may be growing the heap.
     *
     * @param heap a heap of this VM
     * @throws GemException EINVAL when it is not a heap of this VM (any more); EBUSY while a job of the VM is in
     *                      flight (nothing changes)
     */
    public void destroyTilerHeap(TilerHeap heap) {
        boolean removed = locked(() -> {
            if (!inFlight.isEmpty()) { // submit adds under this lock, so no job starts using the heap after this
                throw new GemException(Errno.EBUSY, "cannot destroy " + heap + ": a job of " + name + " is in flight");
            }
            return heaps.remove(heap);
        });
        if (!removed) {
            throw new GemException(Errno.EINVAL, heap + " is not a heap of " + name);
        }
        heap.destroy();
    }

    /**
     * Submits a job on this VM: the VM is marked busy, then validated (every BO bound in it made resident and
     * mapped), then its reclaim domain touched and the job queued on the device's GPU.
     *
     * @param jobName a name for messages
     * @param work    what the job does on the GPU
     * @return the job
     * @throws GemException ENOENT when the VM is closed; ENOMEM or EFAULT when a BO cannot be made resident (BOs
     *                      already validated stay resident; no job remains); EINVAL when the device is closed
     */
    public PanthorJob submit(String jobName, JobWork work) {
        PanthorJob job = new PanthorJob(jobName, this, work);
        boolean open = locked(() -> !closed && inFlight.add(job)); // busy first: no reclaim from here on
        if (!open) {
            throw new GemException(Errno.ENOENT, "cannot submit " + jobName + ": " + name + " is closed");
        }
        try {
            for (PanthorBo bo : boundBos()) {
                bo.validate(this); // this VM's BOs are busy now: the reclaim validation runs skips them
            }
            domain.touch();
            dev.queue(job);
            return job;
        } catch (Throwable t) {
            job.abandon(); // wakes a reclaimer waiting for it
            throw t;
        }
    }

    /** The job is done: the VM is idle again once none is left. */
    void finished(PanthorJob job) {
        inFlight.remove(job);
    }

    /** The jobs submitted and not finished yet. */
    List<PanthorJob> jobsInFlight() {
        return List.copyOf(inFlight);
    }

    /** The distinct BOs bound here now. */
    private List<PanthorBo> boundBos() {
        return locked(() -> {
            List<PanthorBo> out = new ArrayList<>();
            Set<PanthorBo> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            for (VmBinding b : byVa.values()) {
                if (seen.add(b.bo())) {
                    out.add(b.bo());
                }
            }
            return out;
        });
    }

    /**
     * Destroys the VM (its client is closing): no new binding, heap or job; waits for its jobs in flight, then
     * unbinds every range and frees its heaps. Idempotent.
     */
    void destroy() {
        locked(() -> closed = true);
        for (PanthorJob j : jobsInFlight()) {
            j.awaitUninterruptibly();
        }
        Failures failures = new Failures();
        for (VmBinding b : bindings()) {
            try {
                if (b.bo().detach(b)) {
                    release(b);
                }
            } catch (Throwable t) {
                failures.add(t);
            }
        }
        List<TilerHeap> hs = locked(() -> {
            List<TilerHeap> copy = List.copyOf(heaps);
            heaps.clear();
            return copy;
        });
        for (TilerHeap h : hs) {
            try {
                h.destroy();
            } catch (Throwable t) {
                failures.add(t);
            }
        }
        failures.rethrow();
    }

    // ------------------------------------------------------------------ ranges and entries

    private void checkRange(String what, long va, long size) {
        boolean aligned = ((va | size) & (PagePool.PAGE_SIZE - 1)) == 0;
        if (!aligned || size <= 0 || va < VA_START || va > VA_END - size) {
            throw new GemException(Errno.EINVAL, what + " [0x" + Long.toHexString(va) + ", +" + size + ") in " + name
                    + ": the range must be page-aligned, non-empty and within [0x" + Long.toHexString(VA_START)
                    + ", 0x" + Long.toHexString(VA_END) + ")");
        }
    }

    /** Records a binding's range, refusing an overlap or a closed VM. */
    private void reserve(VmBinding b) {
        lock.lock();
        try {
            if (closed) {
                throw new GemException(Errno.ENOENT, "cannot bind in " + name + ": it is closed");
            }
            Map.Entry<Long, VmBinding> below = byVa.floorEntry(b.va() + b.size() - 1);
            if (below != null && below.getKey() + below.getValue().size() > b.va()) {
                throw new GemException(Errno.EINVAL, "bind [0x" + Long.toHexString(b.va()) + ", +" + b.size()
                        + ") in " + name + ": it overlaps " + below.getValue());
            }
            byVa.put(b.va(), b);
        } finally {
            lock.unlock();
        }
    }

    /** Forgets an unlisted binding's range and drops its BO reference. */
    private void release(VmBinding b) {
        try {
            locked(() -> byVa.remove(b.va(), b));
        } finally {
            b.bo().unref();
        }
    }

    /** Maps a new binding; refuses (ENOENT) once the VM is closed, so a destroy never misses a binding. */
    void map(VmBinding b, ScatterList sg) {
        locked(() -> {
            if (closed) {
                throw new GemException(Errno.ENOENT, "cannot bind in " + name + ": it is closed");
            }
            b.writePtes(sg);
            return null;
        });
    }

    /** Maps a listed binding again when a reclaim cleared it (validation); a mapped one is left as it is. */
    void mapIfCleared(VmBinding b, ScatterList sg) {
        locked(() -> {
            if (!b.isMapped()) {
                b.writePtes(sg);
            }
            return null;
        });
    }

    /** Unmaps every entry of a binding (unbind, or a reclaim's teardown). */
    void clear(VmBinding b) {
        locked(() -> {
            b.clearPtes();
            return null;
        });
    }

    /**
     * One GPU access within a page: finds the range at {@code va} and copies between its frame and {@code buf},
     * under the lock (the MMU flush of a teardown waits for it).
     *
     * @return null when done; otherwise why the access faulted
     */
    String access(long va, byte[] buf, int off, int n, boolean write) {
        lock.lock();
        try {
            Map.Entry<Long, VmBinding> e = byVa.floorEntry(va);
            if (e == null || va >= e.getKey() + e.getValue().size()) {
                return "outside every bound range of " + name;
            }
            VmBinding b = e.getValue();
            int pfn = b.pte((int) ((va - b.va()) >>> PagePool.PAGE_SHIFT));
            if (pfn < 0) {
                return "page not mapped in " + b;
            }
            int in = (int) (va & (PagePool.PAGE_SIZE - 1));
            if (write) {
                dev.gem().pool().frame(pfn).put(in, buf, off, n);
            } else {
                dev.gem().pool().frame(pfn).get(in, buf, off, n);
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code body} under the VM's lock. */
    <T> T locked(Supplier<T> body) {
        lock.lock();
        try {
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "PanthorVm[" + name + "]";
    }
}
