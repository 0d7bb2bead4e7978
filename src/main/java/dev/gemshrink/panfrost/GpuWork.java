package dev.gemshrink.panfrost;

/** What a job does on the GPU: reads and writes through its client's GPU address space. */
@FunctionalInterface
public interface GpuWork {
    /** A job that touches no memory. */
    GpuWork NONE = ctx -> { };

    /**
     * Runs on the GPU thread.
     *
     * @param ctx memory access through the client's page table
     */
    void run(GpuContext ctx);
}
