package dev.gemshrink.panthor;

/** What a Panthor job does on the GPU: reads and writes through its VM, and grows tiler heaps. */
@FunctionalInterface
public interface JobWork {
    /**
     * Runs on the GPU thread.
     *
     * @param ctx the job's view of its VM
     */
    void run(JobContext ctx);
}
