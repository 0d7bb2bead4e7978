package dev.gemshrink.sim;

import dev.gemshrink.panfrost.PanfrostBo;
import dev.gemshrink.panfrost.PanfrostClient;
import dev.gemshrink.panfrost.PanfrostDevice;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the per-client memory of the timeline comes from. The one implementation, {@link #FROM_BOS}, adds up each
 * client's open BOs through the driver's public accessors; a source reading the driver's fdinfo can take its place.
 */
interface ClientMemoryProbe {
    /** Bytes the driver allocates to a heap BO per fault. */
    long HEAP_CHUNK = 2L << 20;

    /**
     * Sums each client's BOs: a BO open in two clients counts in both, as fdinfo counts shared memory. It reads
     * each BO's lock-free residency flag only, so sampling never waits for a worker or the shrinker.
     */
    ClientMemoryProbe FROM_BOS = dev -> {
        List<ClientUsage> out = new ArrayList<>();
        for (PanfrostClient c : dev.clients()) {
            long resident = 0;
            long total = 0;
            for (PanfrostBo bo : c.bos()) {
                total += bo.size();
                if (bo.isResident()) {
                    resident += bo.isHeap() ? Math.min(bo.size(), bo.heapChunks() * HEAP_CHUNK) : bo.size();
                }
            }
            out.add(new ClientUsage(c.name(), resident, total));
        }
        return out;
    };

    /**
     * Returns the memory of every open client now.
     *
     * @param dev the device
     * @return one entry per client
     */
    List<ClientUsage> probe(PanfrostDevice dev);
}
