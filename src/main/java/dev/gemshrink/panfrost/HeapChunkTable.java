package dev.gemshrink.panfrost;

import dev.gemshrink.core.PagesRef;
import dev.gemshrink.core.ScatterList;

/**
 * A heap BO's chunk table: one sg table per 2 MiB chunk that a GPU fault has populated. The table is the owner of
 * the heap's page use (the sparse page array exists exactly while the table does), so freeing the BO releases the
 * use through it: there is no flag to forget. Guarded by the BO's reservation lock.
 */
final class HeapChunkTable {
    final PagesRef use;
    final ScatterList[] chunks;

    HeapChunkTable(PagesRef use, int chunkCount) {
        this.use = use;
        this.chunks = new ScatterList[chunkCount];
    }

    int populated() {
        int n = 0;
        for (ScatterList c : chunks) {
            if (c != null) {
                n++;
            }
        }
        return n;
    }
}
