package dev.gemshrink.sim;

import dev.gemshrink.memory.SwapFinding;
import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.memory.SwapStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** A swap store that counts the pages written to it (evicted) and read back from it (swapped in). */
final class CountingSwapStore implements SwapStore {
    private final SwapStore inner;
    private final LongAdder stored = new LongAdder();
    private final LongAdder loaded = new LongAdder();

    CountingSwapStore(SwapStore inner) {
        this.inner = inner;
    }

    /**
     * Returns the pages written to swap so far.
     *
     * @return evicted pages
     */
    long storedPages() {
        return stored.sum();
    }

    /**
     * Returns the pages read back from swap so far.
     *
     * @return swapped-in pages
     */
    long loadedPages() {
        return loaded.sum();
    }

    @Override
    public long capacityPages() {
        return inner.capacityPages();
    }

    @Override
    public long usedPages() {
        return inner.usedPages();
    }

    @Override
    public boolean hasRoom(long pages) {
        return inner.hasRoom(pages);
    }

    @Override
    public SwapSlots store(ByteBuffer[] pages) throws IOException {
        SwapSlots s = inner.store(pages);
        stored.add(pages.length);
        return s;
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        inner.load(slots, into);
        loaded.add(into.length);
    }

    @Override
    public void release(SwapSlots slots) {
        inner.release(slots);
    }

    /** Passes the audit on to the wrapped store, which issued the receipts. */
    @Override
    public List<SwapFinding> audit(Map<SwapSlots, String> held) {
        return inner.audit(held);
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
