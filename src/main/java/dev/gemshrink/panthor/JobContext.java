package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;

/**
 * A running job's view of its VM: reads and writes go through the VM's page table entries, and the tiler may grow a
 * heap. An access outside every bound range, or to a page that is not mapped, faults the job; a heap that cannot
 * grow ends the job with {@link PanthorJob.Status#INCREMENTAL_RENDERING_NEEDED} instead.
 */
public final class JobContext {
    private final PanthorVm vm;
    private final String job;

    JobContext(PanthorVm vm, String job) {
        this.vm = vm;
        this.job = job;
    }

    /**
     * Reads GPU memory.
     *
     * @param va  the GPU address
     * @param dst where to copy to (its whole length)
     * @throws GemException EFAULT on a GPU fault (the job faults)
     */
    public void read(long va, byte[] dst) {
        copy(va, dst, false);
    }

    /**
     * Writes GPU memory.
     *
     * @param va  the GPU address
     * @param src what to copy (its whole length)
     * @throws GemException EFAULT on a GPU fault (the job faults)
     */
    public void write(long va, byte[] src) {
        copy(va, src, true);
    }

    /**
     * Grows a tiler heap of this job's VM by one chunk, allocated without reclaim.
     *
     * @param heap a heap of the job's VM
     * @return the new chunk's index
     * @throws IncrementalRenderingNeeded when the chunk cannot be allocated now (the job ends asking for
     *                                    incremental rendering)
     * @throws GemException               EINVAL for a heap of another VM
     */
    public int growHeap(TilerHeap heap) {
        if (!vm.heaps().contains(heap)) {
            throw new GemException(Errno.EINVAL, "job " + job + ": " + heap + " is not a heap of "
                    + vm.name());
        }
        try {
            return heap.grow();
        } catch (GemException e) {
            if (e.errno() != Errno.ENOMEM) {
                throw e;
            }
            throw new IncrementalRenderingNeeded("job " + job + ": " + e.getMessage(), e);
        }
    }

    private void copy(long va, byte[] buf, boolean write) {
        for (int done = 0; done < buf.length; ) {
            long at = va + done;
            int n = (int) Math.min(buf.length - done, PagePool.PAGE_SIZE - (at & (PagePool.PAGE_SIZE - 1)));
            String fault = vm.access(at, buf, done, n, write);
            if (fault != null) {
                throw new GemException(Errno.EFAULT, "job " + job + ": GPU fault at 0x"
                        + Long.toHexString(at) + ": " + fault);
            }
            done += n;
        }
    }
}
