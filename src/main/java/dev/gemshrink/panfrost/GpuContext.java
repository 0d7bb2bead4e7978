package dev.gemshrink.panfrost;

import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;

/**
 * A running job's view of GPU memory: reads and writes go through its client's page table. An access to an
 * unmapped page of a heap BO raises a GPU fault that calls the heap-fault callback and retries; an access outside
 * every mapping (or to an unmapped page of another BO) fails the job with {@link GpuFaultException}.
 */
public final class GpuContext {
    private final PanfrostDevice dev;
    private final GpuAddressSpace as;
    private final String job;

    GpuContext(PanfrostDevice dev, GpuAddressSpace as, String job) {
        this.dev = dev;
        this.as = as;
        this.job = job;
    }

    /**
     * Reads GPU memory.
     *
     * @param va  the GPU address
     * @param dst where to copy to (its whole length)
     * @throws GpuFaultException on an unresolvable fault
     */
    public void read(long va, byte[] dst) {
        int done = 0;
        while (done < dst.length) {
            long at = va + done;
            int in = (int) (at & (PagePool.PAGE_SIZE - 1));
            int n = Math.min(dst.length - done, PagePool.PAGE_SIZE - in);
            access(at, dst, done, n, false);
            done += n;
        }
    }

    /**
     * Writes GPU memory.
     *
     * @param va  the GPU address
     * @param src what to copy (its whole length)
     * @throws GpuFaultException on an unresolvable fault
     */
    public void write(long va, byte[] src) {
        int done = 0;
        while (done < src.length) {
            long at = va + done;
            int in = (int) (at & (PagePool.PAGE_SIZE - 1));
            int n = Math.min(src.length - done, PagePool.PAGE_SIZE - in);
            access(at, src, done, n, true);
            done += n;
        }
    }

    /** One access within a page; the copy happens under the page table lock (see GpuAddressSpace#access). */
    private void access(long va, byte[] buf, int off, int n, boolean write) {
        GpuAddressSpace.Walk w = as.access(va, dev.gem().pool(), buf, off, n, write);
        if (w != null && w.pfn() < 0 && w.mapping().bo().isHeap()) {
            try {
                w.mapping().bo().heapFault(w.mapping(), va);
                dev.countGpuFault();
            } catch (GemException e) {
                throw new GpuFaultException("job " + job + ": heap fault at 0x" + Long.toHexString(va) + " in "
                        + as.name() + " failed: " + e.getMessage(), e);
            }
            w = as.access(va, dev.gem().pool(), buf, off, n, write);
        }
        if (w == null) {
            throw new GpuFaultException("job " + job + ": GPU fault at 0x" + Long.toHexString(va)
                    + ", outside every mapping of " + as.name());
        }
        if (w.pfn() < 0) {
            throw new GpuFaultException("job " + job + ": GPU fault at 0x" + Long.toHexString(va) + " in "
                    + w.mapping() + ": page not mapped");
        }
    }
}
