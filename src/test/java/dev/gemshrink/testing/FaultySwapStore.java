package dev.gemshrink.testing;

import dev.gemshrink.memory.SwapFinding;
import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.memory.SwapStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * A {@link SwapStore} decorator for tests: it counts the traffic of the store it wraps and, when armed, makes stores
 * or loads fail with any throwable (an {@link IOException}, a {@link RuntimeException} or an {@link Error}: also the
 * failures a caller that only catches checked or {@code GemException} failures would miss). A failure is a supplier
 * asked on every call; it returns the throwable to throw, or null to let that call through (so a seeded schedule fails
 * chosen calls only). An armed call throws before it reaches the wrapped store, so a failed store holds nothing and a
 * failed load keeps the swap copy. Receipts are the wrapped store's own.
 *
 * <p>Thread safety: as safe as the wrapped store and the suppliers; the switches and counters are atomic.
 */
public final class FaultySwapStore implements SwapStore {
    private final SwapStore inner;
    private final AtomicReference<Supplier<? extends Throwable>> storeFailure = new AtomicReference<>();
    private final AtomicReference<Supplier<? extends Throwable>> loadFailure = new AtomicReference<>();
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
     * Makes every following {@link #store} fail with an IOException (true) or work again (false).
     *
     * @param fail whether stores fail
     */
    public void failStores(boolean fail) {
        storeFailure.set(fail ? () -> new IOException("injected swap write error") : null);
    }

    /**
     * Makes every following {@link #load} fail with an IOException (true) or work again (false).
     *
     * @param fail whether loads fail
     */
    public void failLoads(boolean fail) {
        loadFailure.set(fail ? () -> new IOException("injected swap read error") : null);
    }

    /**
     * Makes the following stores throw what {@code failure} returns (nothing when it returns null).
     *
     * @param failure the throwable for each store call: an IOException, a RuntimeException, an Error, or null
     */
    public void failStoresWith(Supplier<? extends Throwable> failure) {
        storeFailure.set(failure);
    }

    /**
     * Makes the following loads throw what {@code failure} returns (nothing when it returns null).
     *
     * @param failure the throwable for each load call: an IOException, a RuntimeException, an Error, or null
     */
    public void failLoadsWith(Supplier<? extends Throwable> failure) {
        loadFailure.set(failure);
    }

    /** Makes stores and loads work again. */
    public void heal() {
        storeFailure.set(null);
        loadFailure.set(null);
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
        throwIfArmed(storeFailure.get());
        SwapSlots s = inner.store(pages);
        stores.increment();
        storedPages.add(pages.length);
        return s;
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        throwIfArmed(loadFailure.get());
        inner.load(slots, into);
        loads.increment();
        loadedPages.add(into.length);
    }

    private void throwIfArmed(Supplier<? extends Throwable> failure) throws IOException {
        Throwable t = failure == null ? null : failure.get();
        if (t == null) {
            return;
        }
        injected.increment();
        if (t instanceof IOException io) {
            throw io;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        throw (Error) t; // a checked throwable other than IOException cannot come through a store's signature
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
