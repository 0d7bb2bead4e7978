package dev.gemshrink.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/** Swap in heap memory: each stored object's pages are copied into one byte array. */
final class MemorySwapStore implements SwapStore {
    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    MemorySwapStore(long capacityPages) {
        if (capacityPages < 0) {
            throw new IllegalArgumentException("capacity must be >= 0: " + capacityPages);
        }
        this.capacity = capacityPages;
    }

    private final class Slots extends SwapSlots {
        final byte[] bytes;

        Slots(int pages) {
            super(MemorySwapStore.this, pages);
            this.bytes = new byte[pages * PagePool.PAGE_SIZE];
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
        long n = pages.length;
        long u;
        do {
            u = used.get();
            if (u + n > capacity) {
                throw new IOException("swap full: " + u + " of " + capacity + " pages used, " + n + " needed");
            }
        } while (!used.compareAndSet(u, u + n));
        Slots s = new Slots(pages.length);
        for (int i = 0; i < pages.length; i++) {
            pages[i].get(0, s.bytes, i * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
        }
        return s;
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        Slots s = SwapSlots.own(this, slots, Slots.class);
        s.checkLoadTarget(into);
        for (int i = 0; i < into.length; i++) {
            into[i].put(0, s.bytes, i * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
        }
    }

    @Override
    public void release(SwapSlots slots) {
        Slots s = SwapSlots.own(this, slots, Slots.class);
        s.markReleased();
        used.addAndGet(-s.pages());
    }

    @Override
    public String toString() {
        return "MemorySwapStore[used=" + used.get() + ", capacity=" + capacity + "]";
    }
}
