package dev.gemshrink.core;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A device: the memory its buffer objects share (a {@link PagePool} of RAM and a {@link SwapStore}) and the set of
 * its live objects. Objects are created here and stay known to the device until they are freed and hold nothing
 * (a freed object with leaked owners stays, so the invariant checker can see the leak).
 *
 * <p>Thread safety: all methods may be called from any thread.
 */
public final class GemDevice implements AutoCloseable {
    private final PagePool pool;
    private final SwapStore swap;
    private final LeakDetection leakDetection;
    private final Set<ShmemObject> objects = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();

    private GemDevice(Builder b) {
        this.pool = b.pool != null ? b.pool : PagePool.ofPages(b.ramPages);
        this.swap = b.swap != null ? b.swap : SwapStore.none();
        this.leakDetection = b.leakDetection != null ? b.leakDetection : LeakDetection.fromSystemProperty();
    }

    /**
     * Returns a builder. Defaults: 64 MiB of heap-backed RAM, no swap, leak detection from the system property.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Creates an object of {@code size} bytes, rounded up to whole pages. It has no pages until first used.
     *
     * @param size the size in bytes
     * @return the new object, named {@code bo#N}
     * @throws GemException EINVAL when size is not positive or too large
     */
    public ShmemObject createObject(long size) {
        return createObject(null, size);
    }

    /**
     * Creates a named object of {@code size} bytes, rounded up to whole pages.
     *
     * @param name a name for messages, or null for {@code bo#N}
     * @param size the size in bytes
     * @return the new object
     * @throws GemException EINVAL when size is not positive or too large
     */
    public ShmemObject createObject(String name, long size) {
        long pages = (size + PagePool.PAGE_SIZE - 1) >>> PagePool.PAGE_SHIFT;
        if (size <= 0 || pages > Integer.MAX_VALUE) {
            throw new GemException(Errno.EINVAL, "invalid object size " + size);
        }
        long id = ids.incrementAndGet();
        ShmemObject o = new ShmemObject(this, name != null ? name : "bo#" + id, pages << PagePool.PAGE_SHIFT,
                (int) pages);
        objects.add(o);
        return o;
    }

    /**
     * Returns the page pool.
     *
     * @return the RAM of this device
     */
    public PagePool pool() {
        return pool;
    }

    /**
     * Returns the swap store.
     *
     * @return where evicted pages go
     */
    public SwapStore swap() {
        return swap;
    }

    /**
     * Returns the leak detection level.
     *
     * @return the level objects of this device use
     */
    public LeakDetection leakDetection() {
        return leakDetection;
    }

    /**
     * Returns the objects the device knows: every live object and every freed one that still has live owners.
     *
     * @return a snapshot of the objects
     */
    public List<ShmemObject> objects() {
        return List.copyOf(objects);
    }

    void retire(ShmemObject o) {
        objects.remove(o);
    }

    void placementChanged(ShmemObject o) {
        Objects.requireNonNull(o);
    }

    /** Closes the swap store. Objects are not freed. */
    @Override
    public void close() {
        try {
            swap.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Builds a {@link GemDevice}. */
    public static final class Builder {
        private int ramPages = 64 * 256;
        private PagePool pool;
        private SwapStore swap;
        private LeakDetection leakDetection;

        private Builder() {
        }

        /**
         * Sets the RAM budget in pages (a heap-backed pool).
         *
         * @param pages the budget
         * @return this builder
         */
        public Builder ramPages(int pages) {
            this.ramPages = pages;
            return this;
        }

        /**
         * Uses an existing pool instead of a heap-backed one.
         *
         * @param pool the pool
         * @return this builder
         */
        public Builder pool(PagePool pool) {
            this.pool = pool;
            return this;
        }

        /**
         * Sets the swap store (default: none, so nothing is ever evicted).
         *
         * @param swap the store
         * @return this builder
         */
        public Builder swap(SwapStore swap) {
            this.swap = swap;
            return this;
        }

        /**
         * Sets the leak detection level.
         *
         * @param level the level
         * @return this builder
         */
        public Builder leakDetection(LeakDetection level) {
            this.leakDetection = level;
            return this;
        }

        /**
         * Builds the device.
         *
         * @return the device
         */
        public GemDevice build() {
            return new GemDevice(this);
        }
    }
}
