package dev.gemshrink.testing;

import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.memory.SwapStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A {@link SwapStore} decorator for tests that makes loads fail with an unchecked throwable (a
 * {@link RuntimeException} or an {@link Error}) rather than an {@link IOException}: the failures a caller that only
 * catches checked or {@code GemException} failures would miss. When armed, each load throws before it reaches the
 * wrapped store, so the swap copy stays as it was.
 *
 * <p>Thread safety: as safe as the wrapped store; the switch is atomic.
 */
public final class ThrowingSwapStore implements SwapStore {
    private final SwapStore inner;
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

    /** Makes loads work again. */
    public void heal() {
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
        return inner.store(pages);
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        Supplier<? extends Throwable> f = loadFailure.get();
        if (f != null) {
            Throwable t = f.get();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) t; // only runtime exceptions and errors can be armed
        }
        inner.load(slots, into);
    }

    @Override
    public void release(SwapSlots slots) {
        inner.release(slots);
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
