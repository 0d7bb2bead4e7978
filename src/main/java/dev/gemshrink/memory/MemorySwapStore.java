package dev.gemshrink.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Swap in heap memory: each stored object's pages are copied into byte arrays of at most {@link #CHUNK_PAGES} pages,
 * so an object of any page count fits (2 GiB and more: no byte offset of an object is ever an int).
 *
 * <p>Failures: pages that are not 4 KiB buffers are refused with IllegalArgumentException before anything is held. A
 * full store fails with IOException; so does running out of heap for the copy, after the reservation is rolled back.
 * Any other Error is rethrown after the rollback. A failed store holds nothing.
 *
 * <p>Thread safety: the used count is an atomic reservation (a CAS loop against the capacity); receipts are
 * immutable once issued.
 */
final class MemorySwapStore implements SwapStore {
    /** The most pages one array of a stored object holds (1 MiB). */
    static final int CHUNK_PAGES = 256;

    private final long capacity;
    private final AtomicLong used = new AtomicLong();
    private final IntFunction<byte[]> arrays; // creates the copies' arrays: byte[]::new, or a test's allocator

    MemorySwapStore(long capacityPages) {
        this(capacityPages, byte[]::new);
    }

    MemorySwapStore(long capacityPages, IntFunction<byte[]> arrays) {
        if (capacityPages < 0) {
            throw new IllegalArgumentException("capacity must be >= 0: " + capacityPages);
        }
        this.capacity = capacityPages;
        this.arrays = Objects.requireNonNull(arrays, "arrays");
    }

    /** A receipt: the copy; page {@code p} is in chunk {@code p / CHUNK_PAGES}, at page {@code p % CHUNK_PAGES}. */
    private final class Slots extends SwapSlots {
        final byte[][] chunks;

        Slots(int pages, byte[][] chunks) {
            super(MemorySwapStore.this, pages);
            this.chunks = chunks;
        }

        MemorySwapStore store() {
            return MemorySwapStore.this;
        }
    }

    @Override
    public long capacityPages() {
        return capacity;
    }

    @Override
    public long usedPages() {
        return used.get();
    }

    @Override
    public SwapSlots store(ByteBuffer[] pages) throws IOException {
        SwapSlots.checkPages(pages);
        int n = pages.length;
        long u;
        do {
            u = used.get();
            if (u + n > capacity) {
                throw new IOException("swap full: " + u + " of " + capacity + " pages used, " + n + " needed");
            }
        } while (!used.compareAndSet(u, u + n));
        try {
            byte[][] chunks = new byte[(n + CHUNK_PAGES - 1) / CHUNK_PAGES][];
            for (int c = 0; c < chunks.length; c++) {
                int first = c * CHUNK_PAGES;
                int count = Math.min(CHUNK_PAGES, n - first);
                byte[] b = arrays.apply(count * PagePool.PAGE_SIZE);
                for (int i = 0; i < count; i++) {
                    pages[first + i].get(0, b, i * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
                }
                chunks[c] = b;
            }
            return new Slots(n, chunks);
        } catch (Throwable t) {
            used.addAndGet(-n);
            throw StoreFailure.asIOException("swap write of " + n + " pages failed", t);
        }
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        Slots s = SwapSlots.own(this, slots, Slots.class);
        s.checkLoadTarget(into);
        for (int p = 0; p < into.length; p++) {
            into[p].put(0, s.chunks[p / CHUNK_PAGES], (p % CHUNK_PAGES) * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
        }
    }

    @Override
    public void release(SwapSlots slots) {
        Slots s = SwapSlots.own(this, slots, Slots.class);
        s.markReleased();
        used.addAndGet(-s.pages());
    }

    /**
     * Audits the receipts held: each is a live receipt of this store whose arrays hold its pages, no array belongs
     * to two receipts, and together they hold the pages in use.
     */
    @Override
    public List<SwapFinding> audit(Map<SwapSlots, String> held) {
        List<SwapFinding> out = new ArrayList<>();
        SwapSlots.auditReceipts(this, held, true, out);
        Map<byte[], String> arrayOwner = new IdentityHashMap<>();
        for (Map.Entry<SwapSlots, String> e : held.entrySet()) {
            if (!(e.getKey() instanceof Slots s) || s.store() != this || s.isReleased()) {
                continue;
            }
            long bytes = 0;
            for (byte[] chunk : s.chunks) {
                bytes += chunk == null ? 0 : chunk.length;
                String other = chunk == null ? null : arrayOwner.putIfAbsent(chunk, e.getValue());
                if (other != null) {
                    out.add(new SwapFinding(e.getValue(), "swap-slot-owned-once", "a copy array also belongs to "
                            + other));
                }
            }
            if (bytes != (long) s.pages() * PagePool.PAGE_SIZE) {
                out.add(new SwapFinding(e.getValue(), "swap-slots-cover-pages", "receipt of " + s.pages()
                        + " pages holds " + bytes / PagePool.PAGE_SIZE + " pages of copies"));
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "MemorySwapStore[used=" + used.get() + ", capacity=" + capacity + "]";
    }
}
