package dev.gemshrink.panfrost;

import dev.gemshrink.memory.PagePool;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A BO mapped into one client's GPU address space. Reference counted: the client's handle holds one reference and
 * each job using the BO in that client holds one; the mapping holds a reference on its BO and keeps its address
 * space reachable. When the last reference goes, the VA range and page table entries are released and the BO
 * reference is dropped. A normal BO's mapping uses the BO's stored sg table and takes no page use of its own.
 */
public final class GpuMapping {
    private final GpuAddressSpace as;
    private final PanfrostBo bo;
    private final long va;
    private final AtomicInteger refs = new AtomicInteger(1);
    private final int[] ptes; // guarded by as's lock: frame per GPU page, -1 when not mapped

    GpuMapping(GpuAddressSpace as, PanfrostBo bo, long va) {
        this.as = as;
        this.bo = bo;
        this.va = va;
        this.ptes = new int[bo.shmem().pageCount()];
        Arrays.fill(ptes, -1);
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
     * Returns a copy of the page table entries (frame per GPU page, -1 when unmapped).
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

    int pte(int page) {
        return ptes[page];
    }

    void writePtes(int first, int firstPfn, int count) {
        for (int i = 0; i < count; i++) {
            ptes[first + i] = firstPfn + i;
        }
    }

    void clearPtes() {
        Arrays.fill(ptes, -1);
    }

    int[] ptesCopy() {
        return ptes.clone();
    }

    long mappedPagesUnlocked() {
        long n = 0;
        for (int p : ptes) {
            if (p >= 0) {
                n++;
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "GpuMapping[" + bo.name() + " in " + as.name() + " at 0x" + Long.toHexString(va) + ", "
                + (size() >>> PagePool.PAGE_SHIFT) + " pages]";
    }
}
