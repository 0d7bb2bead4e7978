package dev.gemshrink.testing;

import dev.gemshrink.memory.SwapFinding;
import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.memory.SwapStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link SwapStore} decorator for tests: it counts the traffic of the store it wraps and, when armed, makes the
 * next stores or loads fail with an {@link IOException} before they reach the wrapped store (so a failed store holds
 * nothing and a failed load leaves the swap copy as it was). Receipts are the wrapped store's own.
 *
 * <p>Thread safety: as safe as the wrapped store; the switches and counters are atomic.
 */
public final class FaultySwapStore implements SwapStore {
    private final SwapStore inner;
    private final AtomicBoolean failStores = new AtomicBoolean();
    private final AtomicBoolean failLoads = new AtomicBoolean();
    private final AtomicBoolean dropReleases = new AtomicBoolean();
    private final LongAdder stores = new LongAdder();
    private final LongAdder storedPages = new LongAdder();
    private final LongAdder loads = new LongAdder();
    private final LongAdder loadedPages = new LongAdder();
    private final LongAdder releases = new LongAdder();
    private final LongAdder injected = new LongAdder();

    /**
     * Wraps a store.
     *
     * @param inner the store that does the work
     */
    public FaultySwapStore(SwapStore inner) {
        this.inner = inner;
    }

    /**
     * Returns the wrapped store.
     *
     * @return the store that does the work
     */
    public SwapStore inner() {
        return inner;
    }

    /**
     * Makes every following {@link #store} fail (true) or work again (false).
     *
     * @param fail whether stores fail
     */
    public void failStores(boolean fail) {
        failStores.set(fail);
    }

    /**
     * Makes every following {@link #load} fail (true) or work again (false).
     *
     * @param fail whether loads fail
     */
    public void failLoads(boolean fail) {
        failLoads.set(fail);
    }

    /**
     * Returns the number of successful stores.
     *
     * @return stores that returned a receipt
     */
    public long stores() {
        return stores.sum();
    }

    /**
     * Returns the pages written by successful stores.
     *
     * @return pages stored
     */
    public long storedPages() {
        return storedPages.sum();
    }

    /**
     * Returns the number of successful loads.
     *
     * @return loads that completed
     */
    public long loads() {
        return loads.sum();
    }

    /**
     * Returns the pages read back by successful loads (pages swapped in).
     *
     * @return pages loaded
     */
    public long loadedPages() {
        return loadedPages.sum();
    }

    /**
     * Arms or disarms dropping releases: while armed, a release is counted but never reaches the wrapped store, so
     * the receipt's slots stay in use (what a caller that forgets to release leaves behind).
     *
     * @param drop true to drop releases
     */
    public void dropReleases(boolean drop) {
        dropReleases.set(drop);
    }

    /**
     * Returns the number of releases.
     *
     * @return receipts released
     */
    public long releases() {
        return releases.sum();
    }

    /**
     * Returns how many faults were injected.
     *
     * @return injected failures
     */
    public long injected() {
        return injected.sum();
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
    public SwapSlots store(ByteBuffer[] pages) throws IOException {
        if (failStores.get()) {
            injected.increment();
            throw new IOException("injected swap write error");
        }
        SwapSlots s = inner.store(pages);
        stores.increment();
        storedPages.add(pages.length);
        return s;
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        if (failLoads.get()) {
            injected.increment();
            throw new IOException("injected swap read error");
        }
        inner.load(slots, into);
        loads.increment();
        loadedPages.add(into.length);
    }

    @Override
    public void release(SwapSlots slots) {
        releases.increment();
        if (dropReleases.get()) {
            return;
        }
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

    @Override
    public String toString() {
        return "FaultySwapStore[" + inner + "]";
    }
}
