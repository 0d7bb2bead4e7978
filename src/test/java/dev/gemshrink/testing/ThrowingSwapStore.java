package dev.gemshrink.testing;

import dev.gemshrink.memory.SwapFinding;
import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.memory.SwapStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A {@link SwapStore} decorator for tests that makes stores and loads fail with any throwable (an
 * {@link IOException}, a {@link RuntimeException} or an {@link Error}): also the failures a caller that only catches
 * checked or {@code GemException} failures would miss. A failure is a supplier asked on every call; it returns the
 * throwable to throw, or null to let that call through (so a seeded schedule fails chosen calls only). An armed call
 * throws before it reaches the wrapped store, so a failed store holds nothing and a failed load keeps the swap copy.
 *
 * <p>Thread safety: as safe as the wrapped store and the suppliers; the switches are atomic.
 */
public final class ThrowingSwapStore implements SwapStore {
    private final SwapStore inner;
    private final AtomicReference<Supplier<? extends Throwable>> storeFailure = new AtomicReference<>();
    private final AtomicReference<Supplier<? extends Throwable>> loadFailure = new AtomicReference<>();

    /**
     * Wraps a store.
     *
     * @param inner the store that does the work
     */
    public ThrowingSwapStore(SwapStore inner) {
        this.inner = inner;
    }

    /**
     * Makes every following load throw an error.
     *
     * @param failure makes the error to throw
     */
    public void failLoadsWithError(Supplier<? extends Error> failure) {
        loadFailure.set(failure);
    }

    /**
     * Makes every following load throw a runtime exception.
     *
     * @param failure makes the exception to throw
     */
    public void failLoadsWithRuntimeException(Supplier<? extends RuntimeException> failure) {
        loadFailure.set(failure);
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
        return inner.store(pages);
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        throwIfArmed(loadFailure.get());
        inner.load(slots, into);
    }

    private static void throwIfArmed(Supplier<? extends Throwable> failure) throws IOException {
        Throwable t = failure == null ? null : failure.get();
        if (t == null) {
            return;
        }
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
        return "ThrowingSwapStore[" + inner + "]";
    }
}
