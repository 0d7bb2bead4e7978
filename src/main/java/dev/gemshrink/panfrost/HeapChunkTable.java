package dev.gemshrink.panfrost;

import dev.gemshrink.core.PagesRef;
import dev.gemshrink.core.ScatterList;
import java.util.HashMap;
import java.util.Map;

/**
 * A heap BO's chunk table: one sg table per 2 MiB chunk that a GPU fault has populated, keyed by chunk index, so
 * it costs O(chunks populated) however large the heap. The table is the owner of the heap's page use (the sparse
 * page array exists exactly while the table does), so freeing the BO releases the use through it: there is no flag
 * to forget. Guarded by the BO's reservation lock.
 */
final class HeapChunkTable {
    final PagesRef use;
    private final Map<Integer, ScatterList> chunks = new HashMap<>();

    HeapChunkTable(PagesRef use) {
        this.use = use;
    }

    /** The chunk's sg table, or null when not populated. */
    ScatterList get(int chunk) {
        return chunks.get(chunk);
    }

    void put(int chunk, ScatterList sg) {
        chunks.put(chunk, sg);
    }

    int populated() {
        return chunks.size();
    }
}
