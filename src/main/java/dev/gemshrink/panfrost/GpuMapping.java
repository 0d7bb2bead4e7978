package dev.gemshrink.panfrost;

import dev.gemshrink.memory.PagePool;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A BO mapped into one client's GPU address space. Reference counted: the client's handle holds one reference and
 * each job using the BO in that client holds one; the mapping holds a reference on its BO and keeps its address
 * space reachable. When the last reference goes, the VA range and page table entries are released and the BO
 * reference is dropped. A normal BO's mapping uses the BO's stored sg table and takes no page use of its own.
 *
 * <p>The page table is sparse: one array of frame numbers per 2 MiB chunk, created when a page of that chunk is
 * first mapped and dropped when the mapping is torn down, so a mapping costs O(pages mapped), not O(BO size) (a
 * huge heap BO with one chunk populated holds one 512-entry array per mapping).
 */
public final class GpuMapping {
    /** Pages per page-table chunk, as a shift: one 2 MiB chunk (a heap BO's unit of growth). */
    static final int CHUNK_SHIFT = Long.numberOfTrailingZeros(GpuAddressSpace.SZ_2M) - PagePool.PAGE_SHIFT;
    static final int CHUNK_PAGES = 1 << CHUNK_SHIFT;

    private final GpuAddressSpace as;
    private final PanfrostBo bo;
    private final long va;
    private final int pageCount;
    private final AtomicInteger refs = new AtomicInteger(1);
    // Guarded by as's lock: chunk index -> frame per page of that chunk (-1 when not mapped); no entry when no page
    // of the chunk has been mapped since the last teardown.
    private final Map<Integer, int[]> chunks = new HashMap<>();
    private long mapped; // guarded by as's lock: entries >= 0

    GpuMapping(GpuAddressSpace as, PanfrostBo bo, long va) {
        this.as = as;
        this.bo = bo;
        this.va = va;
        this.pageCount = bo.shmem().pageCount();
    }

    /**
     * Returns the GPU virtual address of the BO's first byte.
     *
     * @return the VA
     */
    public long va() {
        return va;
    }

    /**
     * Returns the mapped size.
     *
     * @return the BO's size
     */
    public long size() {
        return bo.size();
    }

    /**
     * Returns the BO.
     *
     * @return the mapped BO
     */
    public PanfrostBo bo() {
        return bo;
    }

    /**
     * Returns the address space.
     *
     * @return where the BO is mapped
     */
    public GpuAddressSpace addressSpace() {
        return as;
    }

    /**
     * Returns the references held (client handle and jobs).
     *
     * @return the reference count
     */
    public int refs() {
        return refs.get();
    }

    /**
     * Returns a copy of the page table entries (frame per GPU page, -1 when unmapped). Costs O(BO pages): for
     * tests and diagnostics.
     *
     * @return the PTEs
     */
    public int[] ptes() {
        return as.ptesSnapshot(this);
    }

    /**
     * Takes a reference unless the count is already zero (get unless zero): a released mapping is never revived.
     * Callers take it under the lock of the structure that found the mapping (a client's handle table), so a true
     * result means the holder they looked up was still there.
     *
     * @return false when the mapping is released (or being released)
     */
    boolean tryGet() {
        int r;
        do {
            r = refs.get();
            if (r <= 0) {
                return false;
            }
        } while (!refs.compareAndSet(r, r + 1));
        return true;
    }

    void put() {
        int r = refs.decrementAndGet();
        if (r == 0) {
            bo.unmapped(this);
        } else if (r < 0) {
            throw new IllegalStateException(this + " released too often");
        }
    }

    /** The frame mapped at a page, or -1. As's lock held. */
    int pte(int page) {
        int[] t = chunks.get(page >>> CHUNK_SHIFT);
        return t == null ? -1 : t[page & (CHUNK_PAGES - 1)];
    }

    /** Maps {@code count} pages from {@code first} to consecutive frames from {@code firstPfn}. As's lock held. */
    void writePtes(int first, int firstPfn, int count) {
        int page = first;
        int pfn = firstPfn;
        int left = count;
        while (left > 0) {
            int chunk = page >>> CHUNK_SHIFT;
            int[] t = chunks.get(chunk);
            if (t == null) {
                t = new int[Math.min(CHUNK_PAGES, pageCount - (chunk << CHUNK_SHIFT))];
                Arrays.fill(t, -1);
                chunks.put(chunk, t);
            }
            int in = page & (CHUNK_PAGES - 1);
            int n = Math.min(left, t.length - in);
            for (int i = 0; i < n; i++) {
                if (t[in + i] < 0) {
                    mapped++;
                }
                t[in + i] = pfn + i;
            }
            page += n;
            pfn += n;
            left -= n;
        }
    }

    /** Unmaps every page and drops the chunk arrays. As's lock held. */
    void clearPtes() {
        chunks.clear();
        mapped = 0;
    }

    /** A full copy of the entries, O(BO pages). As's lock held. */
    int[] ptesCopy() {
        int[] out = new int[pageCount];
        Arrays.fill(out, -1);
        for (Map.Entry<Integer, int[]> e : chunks.entrySet()) {
            int[] t = e.getValue();
            System.arraycopy(t, 0, out, e.getKey() << CHUNK_SHIFT, t.length);
        }
        return out;
    }

    /** A copy of the chunk arrays by chunk index, O(pages mapped). As's lock held. */
    TreeMap<Integer, int[]> chunksCopy() {
        TreeMap<Integer, int[]> out = new TreeMap<>();
        for (Map.Entry<Integer, int[]> e : chunks.entrySet()) {
            out.put(e.getKey(), e.getValue().clone());
        }
        return out;
    }

    /** The number of mapped pages. As's lock held. */
    long mappedPagesUnlocked() {
        return mapped;
    }

    @Override
    public String toString() {
        return "GpuMapping[" + bo.name() + " in " + as.name() + " at 0x" + Long.toHexString(va) + ", "
                + (size() >>> PagePool.PAGE_SHIFT) + " pages]";
    }
}
