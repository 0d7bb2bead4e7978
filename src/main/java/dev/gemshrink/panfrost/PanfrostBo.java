package dev.gemshrink.panfrost;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.Evictor;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.core.OwnerKind;
import dev.gemshrink.core.PagesRef;
import dev.gemshrink.core.ReclaimPermit;
import dev.gemshrink.core.Pin;
import dev.gemshrink.core.ScatterList;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.core.VMap;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.TrackedLock;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.stats.BoState;
import dev.gemshrink.stats.GemsTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A Panfrost-like buffer object over a {@link ShmemObject}: creation flags, its GPU mappings in clients, the fences
 * of jobs using it, and for heap BOs the chunk table that grows on GPU faults. It supplies the shrinker's
 * {@link Evictor}: BUSY unless idle and reclaimable, try-lock the mapping lock, tear down every GPU mapping, then
 * purge (DONTNEED) or evict to swap (WILLNEED). Evicted BOs are mapped again when a job next uses them.
 *
 * <p>Lifetime: each {@link GpuMapping} holds one reference; the BO is freed when the last mapping is released
 * (its client closed the handle and no job still holds it).
 *
 * <p>Locking: reservation lock, then {@link #mappingsLock} (guards {@link #mappings}), then an address space's lock.
 * The mapping list changes only with both the reservation lock and the mapping lock held, so either is enough to
 * read it (the heap-fault path checks a mapping is still listed under the reservation lock alone). The fences and
 * the chunk table are guarded by the reservation lock. The reference count is atomic and never rises from zero.
 */
public final class PanfrostBo {
    static final int CHUNK_PAGES = (int) (GpuAddressSpace.SZ_2M >>> PagePool.PAGE_SHIFT);

    private final PanfrostDevice dev;
    private final String creator; // the name of the client that created it
    private final int flags;
    private final ShmemObject shmem;
    /** The lock class of every BO's mapping lock. */
    static final LockClass MAPPINGS_LOCK = LockClass.named("PanfrostBo.mappingsLock");

    private final TrackedLock mappingsLock;
    private final List<GpuMapping> mappings = new ArrayList<>(); // guarded by mappingsLock
    // One per live mapping, plus the creator's reference until createBo has opened it. Never rises from 0:
    // once the last reference is gone the BO is freed for good.
    private final AtomicInteger refs = new AtomicInteger(1);
    private volatile boolean creatorRef = true; // the creator's reference is still held
    private final List<Fence> fences = new ArrayList<>(); // guarded by resv
    private HeapChunkTable chunks; // guarded by resv; heap BOs only, null until the first fault

    private PanfrostBo(PanfrostDevice dev, String creator, String name, long size, int flags) {
        this.dev = dev;
        this.creator = creator;
        this.flags = flags;
        this.shmem = dev.gem().createObject(name, size, new BoEvictor());
        this.mappingsLock = new TrackedLock(MAPPINGS_LOCK, name);
    }

    static PanfrostBo create(PanfrostDevice dev, String creator, String name, long size, int flags) {
        if (size <= 0) {
            throw new GemException(Errno.EINVAL, "BO size must be positive: " + size);
        }
        if ((flags & ~BoFlags.ALL) != 0) {
            throw new GemException(Errno.EINVAL, "unknown BO flags 0x" + Integer.toHexString(flags & ~BoFlags.ALL));
        }
        boolean heap = (flags & BoFlags.HEAP) != 0;
        if (heap && (flags & BoFlags.NOEXEC) == 0) {
            throw new GemException(Errno.EINVAL, "a HEAP BO must be NOEXEC");
        }
        long unit = heap ? GpuAddressSpace.SZ_2M : PagePool.PAGE_SIZE;
        if (size > Long.MAX_VALUE - unit) {
            throw new GemException(Errno.EINVAL, "BO size too large: " + size);
        }
        long rounded = (size + unit - 1) / unit * unit;
        return new PanfrostBo(dev, creator, name, rounded, flags);
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
     * Returns the name of the client that created the BO.
     *
     * @return the creator's name
     */
    public String creator() {
        return creator;
    }

    /**
     * Returns the size, rounded up to whole pages (heap BOs: to 2 MiB).
     *
     * @return the size in bytes
     */
    public long size() {
        return shmem.size();
    }

    /**
     * Returns the creation flags.
     *
     * @return a combination of {@link BoFlags}
     */
    public int flags() {
        return flags;
    }

    /**
     * Returns whether this is a heap BO.
     *
     * @return true for HEAP
     */
    public boolean isHeap() {
        return (flags & BoFlags.HEAP) != 0;
    }

    /**
     * Returns the shmem object underneath. Package-private: the core object has mutators (free, madvise, export,
     * sparse population) that would bypass the driver's rules, so callers see it only through the read-only
     * accessors below.
     *
     * @return the core object
     */
    ShmemObject shmem() {
        return shmem;
    }

    /**
     * Returns a consistent snapshot of the BO's core bookkeeping (counts, madvise, pages, swap, owners, LRU).
     *
     * @return the snapshot
     */
    public ObjectState inspect() {
        return shmem.inspect();
    }

    /**
     * Returns the madvise state.
     *
     * @return WILLNEED, DONTNEED or PURGED
     */
    public Madv madv() {
        return shmem.madv();
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
     * Returns whether the BO is freed (its last reference is gone).
     *
     * @return true once freed
     */
    public boolean isFreed() {
        return shmem.isFreed();
    }

    /**
     * Returns whether the stored sg table exists and describes resident pages.
     *
     * @return true when built
     */
    public boolean hasSgt() {
        return shmem.hasSgt();
    }

    /**
     * Returns the references held on the BO (one per live GPU mapping).
     *
     * @return the reference count
     */
    public int refs() {
        return refs.get();
    }

    /**
     * Returns the BO's GPU mappings.
     *
     * @return a snapshot
     */
    public List<GpuMapping> mappings() {
        mappingsLock.lock();
        try {
            return List.copyOf(mappings);
        } finally {
            mappingsLock.unlock();
        }
    }

    /**
     * Returns whether a job using the BO has not finished (an unsignalled fence).
     *
     * @return true when busy
     */
    public boolean isBusy() {
        return withResv(this::busyLocked);
    }

    /**
     * Returns the number of heap chunks populated by GPU faults.
     *
     * @return chunks (0 for normal BOs)
     */
    public int heapChunks() {
        return withResv(() -> chunks == null ? 0 : chunks.populated());
    }

    /**
     * One BO's facts for the {@code gems} table and fdinfo, read together under its reservation lock.
     *
     * @param row      its row of the table
     * @param exported whether it is exported to another device
     * @param busy     whether it has unsignalled fences
     */
    record Usage(GemsTable.Row row, boolean exported, boolean busy) {
    }

    /** Reads the BO's facts under its reservation lock (then its mapping lock, for the mapping count). */
    Usage usage() {
        return withResv(() -> {
            ObjectState s = shmem.inspect();
            boolean busy = busyLocked();
            // Eviction needs a swap store; whether it has room now is the scan's question, not the BO's.
            boolean reclaimable = !isHeap() && !busy && (shmem.isPurgeable()
                    || shmem.isEvictable() && dev.gem().swap().capacityPages() > 0);
            BoState state = s.madv() == Madv.PURGED ? BoState.PURGED
                    : s.swappedPages() > 0 ? BoState.EVICTED : BoState.RESIDENT;
            GemsTable.Row row = new GemsTable.Row(name(), creator, size(), flagWords(), s.madv().name()
                    .toLowerCase(Locale.ROOT), state, s.residentPages(), s.swappedPages(), s.pinCount(),
                    s.vmapCount(), mappings().size(), shmem.timesReclaimed(), reclaimable);
            return new Usage(row, s.owners(OwnerKind.EXPORT_HANDLE) > 0, busy);
        });
    }

    private String flagWords() {
        if (flags == 0) {
            return "-";
        }
        StringJoiner j = new StringJoiner("|");
        if ((flags & BoFlags.HEAP) != 0) {
            j.add("heap");
        }
        if ((flags & BoFlags.NOEXEC) != 0) {
            j.add("noexec");
        }
        return j.toString();
    }

    // ------------------------------------------------------------------ CPU-side calls (not for heap BOs)

    /**
     * Takes a page use.
     *
     * @return the use
     * @throws GemException EINVAL for heap BOs; otherwise as {@link ShmemObject#getPages()}
     */
    public PagesRef getPages() {
        requireNotHeap("get_pages");
        return shmem.getPages();
    }

    /**
     * Pins the pages.
     *
     * @return the pin
     * @throws GemException EINVAL for heap BOs; otherwise as {@link ShmemObject#pin()}
     */
    public Pin pin() {
        requireNotHeap("pin");
        return shmem.pin();
    }

    /**
     * Maps the BO for the CPU.
     *
     * @return the mapping
     * @throws GemException EINVAL for heap BOs; otherwise as {@link ShmemObject#vmap()}
     */
    public VMap vmap() {
        requireNotHeap("vmap");
        return shmem.vmap();
    }

    /**
     * Returns the stored sg table, creating it if needed.
     *
     * @return the table
     * @throws GemException EINVAL for heap BOs; otherwise as {@link ShmemObject#getPagesSgt()}
     */
    public ScatterList getPagesSgt() {
        requireNotHeap("get_pages_sgt");
        return shmem.getPagesSgt();
    }

    /**
     * CPU read through a transient mapping.
     *
     * @param offset where to start
     * @param dst    where to copy to
     * @throws GemException EINVAL for heap BOs or a bad range; EFAULT when purged
     */
    public void read(long offset, byte[] dst) {
        requireNotHeap("CPU access to");
        shmem.read(offset, dst);
    }

    /**
     * CPU write through a transient mapping.
     *
     * @param offset where to start
     * @param src    what to copy
     * @throws GemException EINVAL for heap BOs or a bad range; EFAULT when purged
     */
    public void write(long offset, byte[] src) {
        requireNotHeap("CPU access to");
        shmem.write(offset, src);
    }

    /**
     * Evicts the BO to swap now through the driver's evictor: the contents are written to swap first, and only
     * then are its GPU mappings torn down and its frames released, so a failed write leaves it mapped and intact.
     *
     * @return pages freed
     * @throws GemException EBUSY when the BO is not evictable now (pinned, busy, heap, DONTNEED, no room in swap);
     *                      ENOMEM when the swap write fails
     */
    public int evict() {
        return reclaimNow(false);
    }

    /**
     * Purges the BO now through the driver's evictor (tearing down its GPU mappings).
     *
     * @return pages freed
     * @throws GemException EBUSY when the BO is not purgeable now (pinned, busy, heap, WILLNEED)
     */
    public int purge() {
        return reclaimNow(true);
    }

    private int reclaimNow(boolean purge) {
        return withResv(() -> {
            try {
                return purge ? shmem.purge() : shmem.evict();
            } catch (GemException e) {
                if (e.errno() != Errno.EBUSY) {
                    throw e;
                }
                throw new GemException(Errno.EBUSY, "cannot " + (purge ? "purge " : "evict ") + name() + " now: "
                        + (isHeap() ? "heap BO" : busyLocked() ? "busy on the GPU" : "madv=" + shmem.madv()
                        + " pin=" + shmem.pinCount() + " resident=" + shmem.isResident()), e);
            }
        });
    }

    // ------------------------------------------------------------------ mappings

    /** Takes a reference unless the count is zero (get unless zero): a freed BO is never revived. */
    boolean tryRef() {
        int r;
        do {
            r = refs.get();
            if (r == 0) {
                return false;
            }
        } while (!refs.compareAndSet(r, r + 1));
        return true;
    }

    /** Returns whether the creator's reference is still held (createBo has not finished opening the BO). */
    boolean creatorRefHeld() {
        return creatorRef;
    }

    /** Drops the creator's reference, once createBo's open has succeeded or failed. */
    void dropCreatorRef() {
        creatorRef = false;
        unref();
    }

    /**
     * Maps the BO in an address space: takes a BO reference (unless freed), reserves VA, makes a normal BO resident
     * (the step that can fail: allocation or swap-in) and maps it, and only then lists the mapping. On any throwable
     * the VA and the reference are released again and the throwable rethrown; the BO may stay resident.
     *
     * @throws GemException ENOENT when the BO is freed or the address space closed; ENOMEM when no VA is left or the
     *                      BO cannot be made resident; EFAULT when its swap-in fails
     */
    GpuMapping openIn(GpuAddressSpace as) {
        if (!tryRef()) {
            // Its last handle and mapping are gone (or going): it cannot be opened again.
            throw new GemException(Errno.ENOENT, name() + " is freed");
        }
        GpuMapping reserved = null;
        try {
            GpuMapping m = as.reserve(this);
            reserved = m;
            withResv(() -> {
                ScatterList sg = isHeap() ? null : shmem.getPagesSgt();
                mappingsLock.lock();
                try {
                    if (sg != null) {
                        as.map(m, sg);
                    }
                    mappings.add(m); // last: a mapping is listed only once it is complete
                } finally {
                    mappingsLock.unlock();
                }
                return null;
            });
            return m;
        } catch (Throwable t) {
            try {
                if (reserved != null) {
                    as.release(reserved);
                }
            } catch (Throwable r) {
                t.addSuppressed(r);
            } finally {
                try {
                    unref();
                } catch (Throwable u) {
                    t.addSuppressed(u);
                }
            }
            throw t;
        }
    }

    /**
     * The last reference of a mapping is gone: unlist it, release its VA and drop its BO reference. The reference
     * is dropped even when the teardown before it throws.
     */
    void unmapped(GpuMapping m) {
        try {
            withResv(() -> {
                mappingsLock.lock();
                try {
                    mappings.remove(m);
                } finally {
                    mappingsLock.unlock();
                }
                m.addressSpace().release(m);
                return null;
            });
        } finally {
            unref();
        }
    }

    /**
     * Drops one reference (a mapping's, or the creator's); the last one frees the BO (the chunk table's page use,
     * then the object) and the device forgets it, each step even when an earlier one throws.
     */
    void unref() {
        if (refs.decrementAndGet() != 0) {
            return;
        }
        try {
            withResv(() -> {
                HeapChunkTable t = chunks;
                chunks = null;
                fences.clear();
                try {
                    if (t != null) {
                        t.use.close();
                    }
                } finally {
                    shmem.free();
                }
                return null;
            });
        } finally {
            dev.forget(this);
        }
    }

    /** The madvise ioctl: reservation lock, then the mapping lock. */
    boolean madvise(GpuAddressSpace caller, Madv advice) {
        return withResv(() -> {
            mappingsLock.lock();
            try {
                if (isHeap()) {
                    return true; // heap BOs stay WILLNEED and are never purged
                }
                if (advice == Madv.DONTNEED && (mappings.size() != 1 || mappings.get(0).addressSpace() != caller)) {
                    throw new GemException(Errno.EINVAL, "madvise DONTNEED on " + name()
                            + ": it is mapped in another client");
                }
                return shmem.madvise(advice);
            } finally {
                mappingsLock.unlock();
            }
        });
    }

    /** Makes a normal BO resident (swapping it in) and maps it again in every client. Resv held. */
    void validateLocked() {
        if (isHeap()) {
            return;
        }
        ScatterList sg = shmem.getPagesSgt();
        mappingsLock.lock();
        try {
            for (GpuMapping m : mappings) {
                m.addressSpace().map(m, sg);
            }
        } finally {
            mappingsLock.unlock();
        }
    }

    void attachFenceLocked(Fence f) {
        busyLocked(); // prune signalled fences so the list stays short
        fences.add(f);
    }

    private boolean busyLocked() {
        fences.removeIf(Fence::isSignalled);
        return !fences.isEmpty();
    }

    // ------------------------------------------------------------------ heap growth

    /**
     * The heap-fault callback: grows the heap by the 2 MiB chunk holding {@code va} and maps it in {@code m}. The
     * page array appears on the first fault, owned by the chunk table. Under the reservation lock it first checks
     * that {@code m} is still one of the BO's mappings (the page table walk that found it ran under another lock,
     * and the mapping may have been released since): a released mapping gets nothing. All or nothing: on any
     * throwable from the allocation nothing stays allocated or counted.
     *
     * @return true when a chunk was populated, false when it was already there
     * @throws GemException EINVAL for a non-heap BO or an offset outside it; ENOENT when {@code m} is released;
     *                      ENOMEM when the chunk cannot be allocated
     */
    boolean heapFault(GpuMapping m, long va) {
        if (!isHeap()) {
            throw new GemException(Errno.EINVAL, name() + " is not a heap BO");
        }
        long offset = va - m.va();
        if (offset < 0 || offset >= size()) {
            throw new GemException(Errno.EINVAL, "fault at offset " + offset + " is outside " + name() + " of "
                    + size() + " bytes");
        }
        int chunk = (int) (offset / GpuAddressSpace.SZ_2M);
        return withResv(() -> {
            requireListedLocked(m);
            HeapChunkTable t = chunks;
            boolean created = t == null;
            if (created) {
                PagesRef use = shmem.getPagesSparse(OwnerKind.PAGES_HEAP_CHUNKS);
                try {
                    t = new HeapChunkTable(use);
                } catch (Throwable e) {
                    use.close();
                    throw e;
                }
            }
            ScatterList sg = t.get(chunk);
            boolean grew = sg == null;
            if (grew) {
                int first = chunk * CHUNK_PAGES;
                try {
                    sg = shmem.populate(first, Math.min(CHUNK_PAGES, shmem.pageCount() - first));
                    t.put(chunk, sg);
                } catch (Throwable e) {
                    if (created) {
                        t.use.close(); // frees the sparse array and anything populated into it
                    }
                    throw e;
                }
            }
            chunks = t;
            if (grew) {
                dev.countHeapChunk();
            }
            m.addressSpace().map(m, sg);
            return grew;
        });
    }

    /** Throws ENOENT unless {@code m} is one of this BO's mappings. Resv held (which every removal holds too). */
    private void requireListedLocked(GpuMapping m) {
        mappingsLock.lock();
        try {
            if (!mappings.contains(m)) {
                throw new GemException(Errno.ENOENT, m + " is released");
            }
        } finally {
            mappingsLock.unlock();
        }
    }

    // ------------------------------------------------------------------ eviction

    /**
     * The driver's evict callback, resv held: BUSY unless idle and reclaimable and the mapping lock is free; then
     * reclaim through the core's permit, which runs the PTE teardown at the safe point (for an eviction, after the
     * swap write succeeded, so a failed write leaves every mapping in place).
     */
    private Evictor.Outcome reclaimLocked(boolean purge, ReclaimPermit permit) {
        if (isHeap() || busyLocked()) {
            return Evictor.Outcome.BUSY;
        }
        if (purge ? !shmem.isPurgeable()
                : !shmem.isEvictable() || !dev.gem().swap().hasRoom(shmem.residentPages())) {
            return Evictor.Outcome.BUSY;
        }
        // tryLock: reclaim must never wait; a madvise or open in progress makes us skip this BO for now.
        if (!mappingsLock.tryLock()) {
            return Evictor.Outcome.BUSY;
        }
        try {
            Runnable teardown = () -> {
                for (GpuMapping m : mappings) {
                    m.addressSpace().clearPtes(m);
                }
            };
            if (purge) {
                permit.purge(teardown);
            } else {
                permit.evict(teardown);
            }
            return Evictor.Outcome.DONE;
        } finally {
            mappingsLock.unlock();
        }
    }

    /** The evictor the core calls for this BO (from a scan, or from {@link ShmemObject#evict()} / purge). */
    private final class BoEvictor implements Evictor {
        @Override
        public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
            return reclaimLocked(true, permit);
        }

        @Override
        public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
            return reclaimLocked(false, permit);
        }
    }

    private void requireNotHeap(String what) {
        if (isHeap()) {
            throw new GemException(Errno.EINVAL, what + " " + name() + ": heap BOs cannot be pinned or mapped"
                    + " for the CPU");
        }
    }

    <T> T withResv(Supplier<T> body) {
        if (shmem.resv().isHeldByCurrentThread()) {
            return body.get();
        }
        shmem.resv().lock();
        try {
            return body.get();
        } finally {
            shmem.resv().unlock();
        }
    }

    /** Returns the lock guarding the BO's list of GPU mappings (for lock-order tests). */
    TrackedLock mappingsLock() {
        return mappingsLock;
    }

    @Override
    public String toString() {
        return "PanfrostBo[" + name() + ", " + size() + " bytes" + (isHeap() ? ", heap" : "") + "]";
    }
}
