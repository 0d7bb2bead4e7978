package dev.gemshrink.core;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.TrackedLock;
import dev.gemshrink.memory.PageBacking;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.reclaim.ReclaimOrder;
import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A device: the memory its buffer objects share (a {@link PagePool} of RAM and a {@link SwapStore}), the set of its
 * live objects, its LRU lists and its shrinker. Objects are created here and stay known to the device until they
 * are freed and hold nothing (a freed object with leaked owners stays, so the invariant checker can see the leak).
 *
 * <p>The device's shrinker is registered with a {@link ShrinkerRegistry} (its own unless the builder names a shared
 * one), and the registry is one of the pool's reclaim hooks, so an allocation that does not fit runs direct reclaim.
 *
 * <p>Locking: the LRU lists share one lock ({@link #lruLock()}), always taken after an object's reservation lock
 * and never held while calling out. State changes do not take it: they record their placement moves lock-free and
 * drains apply them under it ({@link LruMoves}). Where a drain takes it: a state change whose buffer stripe is full,
 * and {@code free}, with the object's reservation lock held (try-lock, then wait); the scan, before and after its
 * passes, with no reservation lock held; {@link #placementOf} and {@link #drainMoves()} waiting for it;
 * {@link #lru}, the shrinker's count and the background reclaimer only by try-lock. A drain takes no other lock.
 *
 * <p>Thread safety: all methods may be called from any thread.
 */
public final class GemDevice implements AutoCloseable {
    /** The lock class of every device's object-list lock (a leaf). */
    static final LockClass OBJECTS_LOCK = LockClass.named("GemDevice.objectsLock");
    /** The lock class of every device's LRU lock (a leaf). */
    static final LockClass LRU_LOCK = LockClass.named("GemDevice.lruLock");

    private final PagePool pool;
    private final SwapStore swap;
    private final LeakDetection leakDetection;
    private final ReclaimPolicy reclaimPolicy;
    private final ReclaimOrder reclaimOrder; // the policy's order of the resident objects; null for lru
    // Reference tracking: every open count transition of every object, with its site; null unless leak detection is
    // PARANOID (kept here rather than per object, so objects pay nothing for it otherwise).
    private final RefTracker tracker;
    private final boolean levelFromBuilder; // whether the builder chose the leak detection level
    // The objects the device knows, as an intrusive list through ShmemObject.devPrev/devNext (no per-object entry).
    private final TrackedLock objectsLock = new TrackedLock(OBJECTS_LOCK, "GemDevice@" + Integer.toHexString(System.identityHashCode(this)));
    private ShmemObject objectsHead; // guarded by objectsLock
    private final AtomicLong ids = new AtomicLong();
    private final ReentrantLock lruLock = new TrackedLock(LRU_LOCK, "GemDevice@" + Integer.toHexString(System.identityHashCode(this)));
    private final Map<Placement, GemLru<ShmemObject>> lrus = new EnumMap<>(Placement.class);
    private final LruMoves moves = new LruMoves(this, lruLock, new MoveBuffer());
    private final ShrinkerRegistry registry;
    private final ShrinkerRegistry.Registration shrinker;
    private final PagePool.HookRegistration reclaimHook; // this device's registry as a reclaim hook of the pool

    GemDevice(DeviceBuilder<?> settings, PagePool sharedPool, ShrinkerRegistry sharedRegistry) {
        this.pool = sharedPool != null ? sharedPool : newPool(settings.ramPages(), settings.backing());
        this.swap = settings.swap() != null ? settings.swap() : SwapStore.none();
        this.levelFromBuilder = settings.leakDetection() != null;
        this.leakDetection = levelFromBuilder ? settings.leakDetection() : LeakDetection.fromSystemProperty();
        this.tracker = leakDetection == LeakDetection.PARANOID ? new RefTracker() : null;
        this.reclaimPolicy = settings.reclaimPolicy();
        this.reclaimOrder = ReclaimOrder.of(reclaimPolicy, pool.totalPages());
        for (Placement p : Placement.values()) {
            if (p != Placement.NONE) {
                // The resident lists share the policy's order; DONTNEED objects were given up, pinned ones are held.
                lrus.put(p, new GemLru<>(p.name().toLowerCase(java.util.Locale.ROOT), lruLock,
                        p.resident() ? reclaimOrder : null, p == Placement.PURGEABLE ? GemLru.Use.GIVEN_UP
                                : p == Placement.PINNED ? GemLru.Use.IN_USE : GemLru.Use.IDLE));
            }
        }
        this.registry = sharedRegistry != null ? sharedRegistry : new ShrinkerRegistry();
        this.shrinker = registry.register(settings.decorateShrinker(new GemShrinker(this, settings.shrinkerName())));
        this.reclaimHook = pool.addReclaimHook(registry);
    }

    /** A pool of its own; its frame table is the step that can fail (nothing else is taken yet). */
    private static PagePool newPool(int ramPages, PageBacking.Kind backing) {
        try {
            return new PagePool(backing.create(ramPages));
        } catch (OutOfMemoryError e) {
            throw new GemException(Errno.ENOMEM, "ramPages " + ramPages + ": no memory for the frame table of the"
                    + " page pool", e);
        }
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
        return createObject(name, size, Evictor.shmem());
    }

    /**
     * Creates a named object with a driver's evictor.
     *
     * @param name    a name for messages, or null for {@code bo#N}
     * @param size    the size in bytes
     * @param evictor what the shrinker calls to purge or evict it
     * @return the new object
     * @throws GemException EINVAL when size is not positive or too large
     */
    public ShmemObject createObject(String name, long size, Evictor evictor) {
        Objects.requireNonNull(evictor, "evictor");
        long pages = (size + PagePool.PAGE_SIZE - 1) >>> PagePool.PAGE_SHIFT;
        if (size <= 0 || pages > Integer.MAX_VALUE) {
            throw new GemException(Errno.EINVAL, "invalid object size " + size);
        }
        long id = ids.incrementAndGet();
        ShmemObject o = new ShmemObject(this, id, name, (int) pages, evictor);
        objectsLock.lock();
        try {
            o.devNext = objectsHead;
            if (objectsHead != null) {
                objectsHead.devPrev = o;
            }
            objectsHead = o;
        } finally {
            objectsLock.unlock();
        }
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
     * Returns the order in which this device's shrinker tries the reclaimable objects of each pass.
     *
     * @return the reclaim policy
     */
    public ReclaimPolicy reclaimPolicy() {
        return reclaimPolicy;
    }

    /** The policy's order of the resident objects, or null for lru (the lists keep their own LRU order). */
    ReclaimOrder reclaimOrder() {
        return reclaimOrder;
    }

    /** The reference tracker, or null when leak detection is SIMPLE. */
    RefTracker tracker() {
        return tracker;
    }

    /** What a leak report without tracking tells its reader to do to see where each owner was acquired. */
    String trackingHint() {
        return levelFromBuilder
                ? "reference tracking is off: this device's builder chose leakDetection(SIMPLE); build it with"
                        + " PARANOID to see where each was acquired"
                : "run with -Dgemshrink.leakDetection=paranoid to see where each was acquired";
    }

    /**
     * Returns the objects the device knows: every live object and every freed one that still has live owners.
     *
     * @return a snapshot of the objects
     */
    public List<ShmemObject> objects() {
        List<ShmemObject> out = new ArrayList<>();
        objectsLock.lock();
        try {
            for (ShmemObject o = objectsHead; o != null; o = o.devNext) {
                out.add(o);
            }
        } finally {
            objectsLock.unlock();
        }
        return out;
    }

    void retire(ShmemObject o) {
        objectsLock.lock();
        try {
            if (o != objectsHead && o.devPrev == null) {
                return; // already retired
            }
            if (o.devPrev == null) {
                objectsHead = o.devNext;
            } else {
                o.devPrev.devNext = o.devNext;
            }
            if (o.devNext != null) {
                o.devNext.devPrev = o.devPrev;
            }
            o.devPrev = null;
            o.devNext = null;
        } finally {
            objectsLock.unlock();
        }
        if (tracker != null) {
            tracker.forget(o);
        }
    }

    /**
     * Returns the LRU list of one placement, after applying the buffered placement moves unless another thread holds
     * the LRU lock (it never waits: a caller alone, or one holding the lock, sees the list exact).
     *
     * @param placement any placement but NONE
     * @return the list
     */
    public GemLru<ShmemObject> lru(Placement placement) {
        GemLru<ShmemObject> l = lrus.get(placement);
        if (l == null) {
            throw new IllegalArgumentException("no LRU for " + placement);
        }
        moves.tryDrain();
        return l;
    }

    /** How placement moves reach the lists: recorded by state changes, applied by drains. */
    LruMoves moves() {
        return moves;
    }

    /**
     * Applies every buffered placement move to the LRU lists, waiting for the LRU lock if another thread holds it
     * (a leaf: the caller must hold no LRU lock of another device and nothing taken after it in the lock order).
     * Afterwards every move recorded before the call is on the lists, in order.
     */
    public void drainMoves() {
        moves.drain();
    }

    /**
     * Returns the lock all of this device's LRU lists share.
     *
     * @return the LRU lock
     */
    public ReentrantLock lruLock() {
        return lruLock;
    }

    /**
     * Returns the registry the device's shrinker is registered with (one of the pool's reclaim hooks).
     *
     * @return the shrinker registry
     */
    public ShrinkerRegistry shrinkers() {
        return registry;
    }

    /**
     * Returns the registration of this device's own shrinker (count, scan(n), stats).
     *
     * @return the device shrinker's registration
     */
    public ShrinkerRegistry.Registration shrinker() {
        return shrinker;
    }

    /**
     * Returns the placement an object is on now, read under the LRU lock after applying the buffered moves.
     *
     * @param o an object of this device
     * @return its list, or NONE
     */
    public Placement placementOf(ShmemObject o) {
        lruLock.lock();
        try {
            moves.drainLocked(null);
            GemLru<?> l = o.lru();
            if (l == null) {
                return Placement.NONE;
            }
            for (Map.Entry<Placement, GemLru<ShmemObject>> e : lrus.entrySet()) {
                if (e.getValue() == l) {
                    return e.getKey();
                }
            }
            return Placement.NONE; // parked on a scanner's private list
        } finally {
            lruLock.unlock();
        }
    }

    /**
     * Applies one placement move: puts an object at the tail of list {@code p}, or takes it off every list, and with it
     * the policy's bookkeeping (an insertion, a use or a removal in {@link ReclaimOrder}). The one place a move reaches
     * the lists; called by a drain ({@link LruMoves}), LRU lock held.
     */
    void place(ShmemObject o, Placement p, long weight) {
        assert lruLock.isHeldByCurrentThread();
        if (p == Placement.NONE) {
            GemLru.remove(o);
        } else {
            lrus.get(p).moveTail(o, weight);
        }
    }

    /**
     * Removes the device's reclaim hook from the pool (other users' hooks stay), unregisters its shrinker and
     * closes the swap store. Objects are not freed.
     */
    @Override
    public void close() {
        reclaimHook.close();
        shrinker.close();
        try {
            swap.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Builds a {@link GemDevice}: the settings every device has (see {@link DeviceBuilder}; the default name is
     * {@code gem}) and, for devices that share memory or reclaim, an existing pool and shrinker registry.
     */
    public static final class Builder extends DeviceBuilder<Builder> {
        private PagePool pool;
        private ShrinkerRegistry registry;

        private Builder() {
            super("gem");
        }

        /**
         * Registers the device's shrinker with a shared registry instead of a registry of its own.
         *
         * @param registry the registry
         * @return this builder
         */
        public Builder shrinkerRegistry(ShrinkerRegistry registry) {
            this.registry = registry;
            return this;
        }

        /**
         * Uses an existing pool instead of one of its own ({@link #ramPages} and {@link #backing} are then not used).
         *
         * @param pool the pool
         * @return this builder
         */
        public Builder pool(PagePool pool) {
            this.pool = pool;
            return this;
        }

        /**
         * Builds the device.
         *
         * @return the device
         * @throws GemException ENOMEM when there is no memory for the frame table of a pool of its own
         */
        public GemDevice build() {
            return new GemDevice(this, pool, registry);
        }
    }
}
