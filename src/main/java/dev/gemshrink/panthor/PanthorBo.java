package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.Evictor;
import dev.gemshrink.core.IdleWait;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.core.ReclaimPermit;
import dev.gemshrink.core.ScatterList;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.TrackedLock;
import dev.gemshrink.memory.PagePool;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A Panthor-like buffer object over a {@link ShmemObject}: created private to one VM or shareable among its
 * client's VMs, bound at GPU addresses by {@link PanthorVm#bind}, and never madvised: it stays WILLNEED and its
 * memory is reclaimed transparently. Its {@link Evictor} evicts it to swap, or, when it was created with
 * {@link #DISCARD_ON_RECLAIM}, drops its contents (the next use gets zero-filled pages and {@link #discards()} counts
 * it). An evicted or discarded BO is made resident again when a job of a VM it is bound in is submitted, or when it
 * is accessed through a {@link CpuMapping}.
 *
 * <p>Reclaim: the device's stages ({@link PanthorStages}) order BOs by cost from the facts kept here: the VMs it is
 * bound in and its open CPU mappings; every change of either restages it. A BO private to a VM has that VM's reclaim
 * domain as home. The evictor answers BUSY while a VM the BO is bound in has a job in flight, and names those jobs
 * for active reclaim to wait for ({@link Evictor#idleWait}).
 *
 * <p>Lifetime: its client's handle holds one reference, each binding one and each open {@link CpuMapping} one; the
 * last one frees it.
 *
 * <p>Locking: reservation lock, then {@link #bindingsLock} (guards {@link #bindings}), then a VM's lock. The list
 * of bindings changes only with both the reservation lock and the bindings lock held, so either is enough to read
 * it (the stage classifier reads it under the reservation lock). The reference count is atomic and never rises
 * from zero.
 */
public final class PanthorBo {
    /** Creation flag: on reclaim, drop the contents instead of writing them to swap. */
    public static final int DISCARD_ON_RECLAIM = 1;
    /** Every creation flag known. */
    static final int ALL_FLAGS = DISCARD_ON_RECLAIM;
    /** The lock class of every BO's bindings lock. */
    static final LockClass BINDINGS_LOCK = LockClass.named("PanthorBo.bindingsLock");

    private final PanthorDevice dev;
    private final PanthorClient client;
    private final PanthorVm privateTo; // null: shareable among the client's VMs
    private final int flags;
    private final ShmemObject shmem;
    private final TrackedLock bindingsLock;
    private final List<VmBinding> bindings = new ArrayList<>(); // guarded by bindingsLock (and resv, see above)
    private final List<CpuMapping> mappings = new ArrayList<>(); // guarded by resv: the open CPU mappings
    // The handle's reference plus one per binding and one per open CPU mapping; never rises from 0.
    private final AtomicInteger refs = new AtomicInteger(1);
    // The client's handle reference is still held; volatile: the checker reads it without a lock.
    private volatile boolean handleHeld = true;

    private PanthorBo(PanthorDevice dev, PanthorClient client, String name, long size, int flags,
            PanthorVm privateTo) {
        this.dev = dev;
        this.client = client;
        this.privateTo = privateTo;
        this.flags = flags;
        this.shmem = dev.gem().createObject(name, size, new BoEvictor(),
                privateTo != null ? privateTo.reclaimDomain() : dev.gem().domain());
        this.bindingsLock = new TrackedLock(BINDINGS_LOCK, name);
    }

    /** Validates the arguments, then creates the BO (nothing is created on EINVAL). */
    static PanthorBo create(PanthorDevice dev, PanthorClient client, String name, long size, int flags,
            PanthorVm privateTo) {
        if (size <= 0 || size > Long.MAX_VALUE - PagePool.PAGE_SIZE) {
            throw new GemException(Errno.EINVAL, "invalid BO size " + size);
        }
        if ((flags & ~ALL_FLAGS) != 0) {
            throw new GemException(Errno.EINVAL, "unknown BO flags 0x" + Integer.toHexString(flags & ~ALL_FLAGS));
        }
        if (privateTo != null && privateTo.client() != client) {
            throw new GemException(Errno.EINVAL, "a BO can be private only to a VM of its own client, not "
                    + privateTo.name());
        }
        return new PanthorBo(dev, client, name, size, flags, privateTo);
    }

    /**
     * Returns the BO's name.
     *
     * @return the name of its shmem object
     */
    public String name() {
        return shmem.name();
    }

    /**
     * Returns the size, rounded up to whole pages.
     *
     * @return bytes
     */
    public long size() {
        return shmem.size();
    }

    /**
     * Returns the creation flags.
     *
     * @return 0 or {@link #DISCARD_ON_RECLAIM}
     */
    public int flags() {
        return flags;
    }

    /**
     * Returns the VM the BO is private to.
     *
     * @return the VM, or null when the BO is shareable
     */
    public PanthorVm privateTo() {
        return privateTo;
    }

    /**
     * Returns the client that owns the BO.
     *
     * @return the client
     */
    public PanthorClient client() {
        return client;
    }

    /**
     * Returns whether the pages are resident.
     *
     * @return true when a frame array exists
     */
    public boolean isResident() {
        return shmem.isResident();
    }

    /**
     * Returns whether the contents are in swap.
     *
     * @return true when evicted
     */
    public boolean isEvicted() {
        return shmem.isEvicted();
    }

    /**
     * Returns whether the contents are discarded now (a reclaim dropped them and no use has refilled them yet).
     *
     * @return true while discarded
     */
    public boolean isDiscarded() {
        return shmem.isDiscarded();
    }

    /**
     * Returns how many times a reclaim discarded the BO's contents: a BO whose count rose since the caller last
     * looked was reset to zeros.
     *
     * @return discards so far (saturating at {@link ShmemObject#RECLAIM_COUNT_MAX})
     */
    public int discards() {
        return shmem.timesDiscarded();
    }

    /**
     * Returns how many times the BO was reclaimed (evicted or discarded).
     *
     * @return reclaims so far (saturating at {@link ShmemObject#RECLAIM_COUNT_MAX})
     */
    public int evictions() {
        return shmem.timesReclaimed();
    }

    /**
     * Returns whether the BO is freed.
     *
     * @return true once its last reference is gone
     */
    public boolean isFreed() {
        return shmem.isFreed();
    }

    /**
     * Returns the references held on the BO (its handle's and one per binding).
     *
     * @return the reference count
     */
    public int refs() {
        return refs.get();
    }

    /**
     * Returns the BO's bindings.
     *
     * @return a snapshot
     */
    public List<VmBinding> bindings() {
        bindingsLock.lock();
        try {
            return List.copyOf(bindings);
        } finally {
            bindingsLock.unlock();
        }
    }

    /**
     * Returns a consistent snapshot of the BO's core bookkeeping.
     *
     * @return the snapshot
     */
    public ObjectState inspect() {
        return shmem.inspect();
    }

    /**
     * CPU read through a transient mapping; an evicted BO is swapped in, a discarded one reads zeros.
     *
     * @param offset where to start
     * @param dst    where to copy to
     * @throws GemException EINVAL for a bad range; ENOENT when freed; ENOMEM when out of memory
     */
    public void read(long offset, byte[] dst) {
        shmem.read(offset, dst);
    }

    /**
     * CPU write through a transient mapping (kept only while some binding holds the pages).
     *
     * @param offset where to start
     * @param src    what to copy
     * @throws GemException EINVAL for a bad range; ENOENT when freed; ENOMEM when out of memory
     */
    public void write(long offset, byte[] src) {
        shmem.write(offset, src);
    }

    /**
     * Reclaims the BO now through its evictor, as a scan would: evicts it to swap, or discards its contents when
     * it was created with {@link #DISCARD_ON_RECLAIM}.
     *
     * @return pages freed
     * @throws GemException EBUSY when it cannot be reclaimed now (no pages kept, a VM it is bound in has jobs in
     *                      flight, no swap room, a bind or unbind in progress); ENOMEM when the swap write fails
     */
    public int reclaim() {
        return shmem.evict();
    }

    /**
     * Maps the whole BO for CPU access (a user mmap). The mapping holds a reference on the BO until closed; it does
     * not pin it (see {@link CpuMapping}).
     *
     * @return the mapping; close it to unmap
     * @throws GemException ENOENT when the BO is freed
     */
    public CpuMapping mmap() {
        if (!tryRef()) {
            throw new GemException(Errno.ENOENT, "mmap " + name() + ": the BO is freed");
        }
        try {
            return withResv(() -> {
                CpuMapping m = new CpuMapping(this);
                mappings.add(m);
                try {
                    shmem.restage();
                } catch (Throwable t) {
                    mappings.remove(m);
                    throw t;
                }
                return m;
            });
        } catch (Throwable t) {
            unref();
            throw t;
        }
    }

    /** Forgets a closed mapping and restages the BO. Resv held. */
    void unmapLocked(CpuMapping m) {
        mappings.remove(m);
        shmem.restage();
    }

    /**
     * A CPU access through a mapping, resv held: makes the BO resident with its pages kept (a fault: swap-in, or
     * zero-fill after a discard), then copies.
     */
    void fault(long offset, byte[] buf, boolean write) {
        shmem.getPagesSgt();
        if (write) {
            shmem.write(offset, buf);
        } else {
            shmem.read(offset, buf);
        }
    }

    /** The open CPU mappings (for the checker). */
    int mappingCount() {
        return withResv(mappings::size);
    }

    /** Whether a CPU mapping is open. Resv held (the stage classifier). */
    boolean isMmappedLocked() {
        return !mappings.isEmpty();
    }

    /** How many distinct VMs the BO is bound in. Resv held (the stage classifier). */
    int boundVmCountLocked() {
        if (bindings.size() <= 1) {
            return bindings.size();
        }
        PanthorVm first = bindings.get(0).vm();
        for (VmBinding b : bindings) {
            if (b.vm() != first) {
                return 2;
            }
        }
        return 1;
    }

    /** The BO of a core object, or null when the object is not a BO's (a tiler heap's). */
    static PanthorBo of(ShmemObject obj) {
        return obj.evictor() instanceof BoEvictor e ? e.bo() : null;
    }

    /** The core object: package-private, since its mutators (free, madvise, export) would bypass the driver. */
    ShmemObject shmem() {
        return shmem;
    }

    /** Whether the client's handle still holds its reference (for the checker). */
    boolean handleHeld() {
        return handleHeld;
    }

    // ------------------------------------------------------------------ references

    /** Takes a reference unless the count is zero: a freed BO is never revived. */
    boolean tryRef() {
        return refs.getAndUpdate(r -> r == 0 ? 0 : r + 1) != 0;
    }

    /** Drops the handle's reference (its client closed the handle). */
    void dropHandle() {
        handleHeld = false;
        unref();
    }

    /** Drops one reference; the last frees the shmem object and the device forgets the BO, even if the free throws. */
    void unref() {
        if (refs.decrementAndGet() != 0) {
            return;
        }
        try {
            shmem.free();
        } finally {
            dev.forget(this);
        }
    }

    // ------------------------------------------------------------------ bindings

    /**
     * Makes the BO resident and maps a reserved binding, then lists it. Called by {@link PanthorVm#bind} with a
     * reference already taken for the binding. On any throwable nothing is listed or mapped.
     */
    void attach(VmBinding b) {
        withResv(() -> {
            ScatterList sg = shmem.getPagesSgt();
            bindingsLock.lock();
            try {
                b.vm().map(b, sg);
                bindings.add(b); // last: a binding is listed only once it is complete
            } finally {
                bindingsLock.unlock();
            }
            shmem.restage();
            return null;
        });
    }

    /** Unlists a binding and clears its entries (the VM forgets its range itself). Resv taken here. */
    boolean detach(VmBinding b) {
        return withResv(() -> {
            bindingsLock.lock();
            try {
                if (!bindings.remove(b)) {
                    return false;
                }
                b.vm().clear(b);
            } finally {
                bindingsLock.unlock();
            }
            shmem.restage();
            return true;
        });
    }

    /**
     * Validation before a job of {@code vm} runs: makes the BO resident (swapping an evicted BO in, refilling a
     * discarded one with zero pages) and maps again its bindings in {@code vm} that a reclaim cleared. A BO no
     * longer bound in {@code vm} is left alone. Reading the bindings under the reservation lock alone is enough (see
     * the class comment).
     */
    void validate(PanthorVm vm) {
        withResv(() -> {
            if (bindings.stream().noneMatch(b -> b.vm() == vm)) {
                return null; // unbound from vm (or freed) since the VM listed it: nothing to validate
            }
            ScatterList sg = shmem.getPagesSgt();
            bindingsLock.lock();
            try {
                for (VmBinding b : bindings) {
                    if (b.vm() == vm) {
                        vm.mapIfCleared(b, sg);
                    }
                }
            } finally {
                bindingsLock.unlock();
            }
            return null;
        });
    }

    // ------------------------------------------------------------------ reclaim

    /**
     * The driver's evict callback, resv held: BUSY unless evictable (resident with its sg table stored, and
     * unpinned; a CPU mapping does not prevent it), unless swap has room (not needed for a discard), unless the
     * bindings lock is free and no VM the BO is bound in has a job in flight; then, through the core's permit, clear
     * every binding's entries and evict or discard.
     */
    private Evictor.Outcome reclaimLocked(ReclaimPermit permit) {
        boolean discard = (flags & DISCARD_ON_RECLAIM) != 0;
        if (!shmem.isEvictable() || !discard && !dev.gem().swap().hasRoom(shmem.pageCount())) {
            return Evictor.Outcome.BUSY;
        }
        // tryLock: reclaim never waits; a bind or unbind in progress makes us skip the BO for now.
        if (!bindingsLock.tryLock()) {
            return Evictor.Outcome.BUSY;
        }
        try {
            for (VmBinding b : bindings) {
                if (b.vm().isBusy()) {
                    return Evictor.Outcome.BUSY;
                }
            }
            Runnable teardown = () -> {
                for (VmBinding b : bindings) {
                    b.vm().clear(b);
                }
            };
            if (discard) {
                permit.discard(teardown);
            } else {
                permit.evict(teardown);
            }
            return Evictor.Outcome.DONE;
        } finally {
            bindingsLock.unlock();
        }
    }

    /**
     * What a busy BO waits for, resv held: the jobs in flight of the VMs it is bound in. None when one of those jobs
     * is still being submitted (its VM is being validated, perhaps by the very thread that is reclaiming, so waiting
     * could only run out) or when no job keeps it busy.
     */
    private IdleWait idleWaitLocked() {
        Set<PanthorVm> vms = Collections.newSetFromMap(new IdentityHashMap<>());
        List<PanthorJob> jobs = new ArrayList<>();
        for (VmBinding b : bindings) {
            if (vms.add(b.vm())) {
                jobs.addAll(b.vm().jobsInFlight());
            }
        }
        for (PanthorJob j : jobs) {
            if (!j.isQueued()) {
                return null;
            }
        }
        return jobs.isEmpty() ? null : PanthorJob.allDone(jobs);
    }

    /** The evictor the core calls: BOs are never DONTNEED, so only the evict callback does anything. */
    private final class BoEvictor implements Evictor {
        PanthorBo bo() {
            return PanthorBo.this;
        }

        @Override
        public IdleWait idleWait(ShmemObject obj) {
            return idleWaitLocked();
        }

        @Override
        public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
            return Outcome.BUSY;
        }

        @Override
        public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
            return reclaimLocked(permit);
        }
    }

    /** Runs {@code body} under the BO's reservation lock (taken unless the calling thread holds it). */
    <T> T withResv(Supplier<T> body) {
        return shmem.resv().locked(body);
    }

    @Override
    public String toString() {
        return "PanthorBo[" + name() + ", " + size() + " bytes" + (privateTo != null ? ", private to "
                + privateTo.name() : ", shareable") + ((flags & DISCARD_ON_RECLAIM) != 0 ? ", discard" : "") + "]";
    }
}
