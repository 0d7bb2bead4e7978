package dev.gemshrink.panfrost;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.ScatterList;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.TrackedLock;
import dev.gemshrink.memory.PagePool;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A client's GPU address space (MMU context): a VA range allocator and a page table recording which frame backs
 * each mapped GPU page. VA runs from 32 MiB up to 2^40 in 4 KiB pages; no-exec BOs never cross a 4 GiB boundary,
 * executable BOs are aligned to their size (rounded up to a power of two), heap BOs to 2 MiB.
 *
 * <p>Locking: one lock guards the allocator, the page table and the closed flag. It is a leaf for allocation
 * purposes: it is never held while pages are allocated from the pool or another lock is awaited, so reclaim may
 * take it (the page table's small chunk arrays are plain heap objects, allocated under it). A GPU access holds it
 * while it copies one page's bytes, so tearing down a mapping also waits out the accesses in flight (the MMU
 * flush).
 *
 * <p>Lifetime: the device knows the address space from its client's opening until the client is closed and the
 * last mapping here is released (jobs may still hold mappings after the close), so that its checker sees every VA
 * range. Once closed, no VA is reserved here again.
 */
public final class GpuAddressSpace {
    /** The lowest GPU virtual address handed out. */
    public static final long VA_START = 32L << 20;
    /** The end of the GPU virtual address space (exclusive). */
    public static final long VA_END = 1L << 40;
    static final long SZ_2M = 2L << 20;
    static final long SZ_4G = 1L << 32;

    private final PanfrostDevice dev;
    private final String name;
    /** The lock class of every address space's lock. */
    static final LockClass LOCK = LockClass.named("GpuAddressSpace.lock");

    private final TrackedLock lock;
    private final TreeMap<Long, GpuMapping> byVa = new TreeMap<>(); // guarded by lock
    private boolean closed; // guarded by lock

    GpuAddressSpace(PanfrostDevice dev, String name) {
        this.dev = dev;
        this.name = name;
        this.lock = new TrackedLock(LOCK, name);
    }

    /**
     * Returns the address space's name (its client's).
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Reserves VA for a mapping and records it (no pages mapped yet).
     *
     * @throws GemException ENOMEM when no range fits; ENOENT when the address space is closed
     */
    GpuMapping reserve(PanfrostBo bo) {
        long size = bo.size();
        long align;
        if (bo.isHeap()) {
            align = SZ_2M;
        } else if ((bo.flags() & BoFlags.NOEXEC) == 0) {
            align = Long.highestOneBit(size) == size ? size : Long.highestOneBit(size) << 1;
        } else {
            align = PagePool.PAGE_SIZE;
        }
        boolean noCross4G = (bo.flags() & BoFlags.NOEXEC) != 0;
        lock.lock();
        try {
            if (closed) {
                throw new GemException(Errno.ENOENT, "cannot map " + bo.name() + ": " + name + " is closed");
            }
            long va = findGap(size, align, noCross4G);
            GpuMapping m = new GpuMapping(this, bo, va);
            byVa.put(va, m);
            return m;
        } finally {
            lock.unlock();
        }
    }

    private long findGap(long size, long align, boolean noCross4G) {
        long cursor = VA_START;
        for (Map.Entry<Long, GpuMapping> e : byVa.entrySet()) {
            long fit = fit(cursor, e.getKey(), size, align, noCross4G);
            if (fit >= 0) {
                return fit;
            }
            cursor = Math.max(cursor, e.getKey() + e.getValue().size());
        }
        long fit = fit(cursor, VA_END, size, align, noCross4G);
        if (fit < 0) {
            throw new GemException(Errno.ENOMEM, "no " + size + "-byte VA range left in " + name);
        }
        return fit;
    }

    private static long fit(long from, long to, long size, long align, boolean noCross4G) {
        long va = alignUp(from, align);
        if (noCross4G && size <= SZ_4G && (va / SZ_4G) != ((va + size - 1) / SZ_4G)) {
            va = alignUp(va, SZ_4G);
        }
        return va + size <= to ? va : -1;
    }

    private static long alignUp(long v, long a) {
        return (v + a - 1) / a * a;
    }

    /** Forgets a mapping's VA range and page table entries; the last one of a closed space retires it. */
    void release(GpuMapping m) {
        boolean retire;
        lock.lock();
        try {
            byVa.remove(m.va(), m);
            m.clearPtes();
            retire = closed && byVa.isEmpty();
        } finally {
            lock.unlock();
        }
        if (retire) {
            dev.forget(this);
        }
    }

    /**
     * Closes the address space (its client is closed): no VA is reserved here again. The device forgets it now if
     * it is empty, otherwise when its last mapping is released. Idempotent.
     */
    void close() {
        boolean retire;
        lock.lock();
        try {
            retire = !closed && byVa.isEmpty();
            closed = true;
        } finally {
            lock.unlock();
        }
        if (retire) {
            dev.forget(this);
        }
    }

    /** Maps the pages a scatter list describes into a mapping's page table entries. */
    void map(GpuMapping m, ScatterList sg) {
        lock.lock();
        try {
            for (ScatterList.Segment seg : sg.segments()) {
                m.writePtes(seg.pageIndex(), seg.firstPfn(), seg.count());
            }
        } finally {
            lock.unlock();
        }
    }

    /** Clears every page table entry of a mapping (teardown before purge or eviction). */
    void clearPtes(GpuMapping m) {
        lock.lock();
        try {
            m.clearPtes();
        } finally {
            lock.unlock();
        }
    }

    /** The result of a page table walk. */
    record Walk(GpuMapping mapping, int pfn) {
    }

    /**
     * Walks the page table for one GPU address. Lock held.
     *
     * @return null when no mapping covers va; a walk with pfn -1 when a mapping covers it but the page is not mapped
     */
    private Walk translateLocked(long va) {
        Map.Entry<Long, GpuMapping> e = byVa.floorEntry(va);
        if (e == null || va >= e.getKey() + e.getValue().size()) {
            return null;
        }
        GpuMapping m = e.getValue();
        return new Walk(m, m.pte((int) ((va - m.va()) >>> PagePool.PAGE_SHIFT)));
    }

    /**
     * A GPU access of {@code n} bytes at {@code va} (within one page): walks the page table and, when the page is
     * mapped, copies between its frame and {@code buf}, all under the page table lock. Holding the lock across the
     * copy is the MMU flush: a teardown ({@link #clearPtes}, {@link #release}) that returned has waited for any
     * access in progress, so the frames it unmapped can be freed and reused without a late GPU write landing in
     * another BO's page.
     *
     * @return the walk (null outside every mapping; pfn -1 when unmapped); nothing was copied unless mapped
     */
    Walk access(long va, PagePool pool, byte[] buf, int off, int n, boolean write) {
        lock.lock();
        try {
            Walk w = translateLocked(va);
            if (w != null && w.pfn() >= 0) {
                int in = (int) (va & (PagePool.PAGE_SIZE - 1));
                if (write) {
                    pool.frame(w.pfn()).put(in, buf, off, n);
                } else {
                    pool.frame(w.pfn()).get(in, buf, off, n);
                }
            }
            return w;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the mappings of this address space, by VA.
     *
     * @return a snapshot
     */
    public List<GpuMapping> mappings() {
        lock.lock();
        try {
            return new ArrayList<>(byVa.values());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the number of GPU pages mapped to frames now.
     *
     * @return mapped pages
     */
    public long mappedPages() {
        lock.lock();
        try {
            long n = 0;
            for (GpuMapping m : byVa.values()) {
                n += m.mappedPagesUnlocked();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    int[] ptesSnapshot(GpuMapping m) {
        lock.lock();
        try {
            return m.ptesCopy();
        } finally {
            lock.unlock();
        }
    }

    /** A mapping's page table chunks (index -> frames), O(pages mapped), for the checker. */
    SortedMap<Integer, int[]> chunksSnapshot(GpuMapping m) {
        lock.lock();
        try {
            return m.chunksCopy();
        } finally {
            lock.unlock();
        }
    }

    /** The frame a mapping maps at one page, or -1. */
    int pteOf(GpuMapping m, int page) {
        lock.lock();
        try {
            return m.pte(page);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "GpuAddressSpace[" + name + "]";
    }
}
