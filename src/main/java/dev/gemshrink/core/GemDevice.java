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
import java.util.List;
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
 * <p>Lists: one per {@link ReclaimStage} of the device's {@link ReclaimStages} (chosen by its builder; the standard
 * ones by default), in the device's own {@link ReclaimDomain} and, for per-domain stages, in each domain created by
 * {@link #createDomain}; every live object is on exactly one of them, the one its derived stage implies.
 *
 * <p>Locking: the LRU lists (and the domain LRU) share one lock ({@link #lruLock()}), always taken after an object's reservation lock
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
    private final ReclaimStages stages;
    private final GemLru.Total[] totals; // by stage index: the stage's pages and objects in every domain
    private final ReclaimDomain deviceDomain; // the home of objects created without one; holds every stage's list
    private ReclaimDomain domainsHead; // guarded by lruLock: the domains with objects on per-domain lists, LRU first
    private ReclaimDomain domainsTail; // guarded by lruLock
    private final long fenceWaitNanos;
    private final boolean reclaimUnderResvMayBlock;
    private final LruMoves moves;
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
        this.stages = settings.reclaimStages();
        this.fenceWaitNanos = settings.fenceWait().toNanos();
        this.reclaimUnderResvMayBlock = settings.allowsReclaimUnderResvToBlock();
        this.moves = new LruMoves(this, lruLock, new MoveBuffer());
        this.totals = new GemLru.Total[stages.stages().size()];
        for (int i = 0; i < totals.length; i++) {
            totals[i] = new GemLru.Total();
        }
        this.deviceDomain = new ReclaimDomain(this, settings.name(), true);
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
        return createObject(name, size, evictor, deviceDomain);
    }

    /**
     * Creates a named object with a driver's evictor and a home domain: the objects of a
     * {@link ReclaimStage#perDomain() per-domain} stage sit on their home's list of it.
     *
     * @param name    a name for messages, or null for {@code bo#N}
     * @param size    the size in bytes
     * @param evictor what the shrinker calls to purge or evict it
     * @param home    its home domain, one of this device's ({@link #domain()} or from {@link #createDomain})
     * @return the new object, on the list of its stage from the start (the stage of an object without pages)
     * @throws GemException EINVAL when size is not positive or too large, or the domain is another device's
     */
    public ShmemObject createObject(String name, long size, Evictor evictor, ReclaimDomain home) {
        Objects.requireNonNull(evictor, "evictor");
        Objects.requireNonNull(home, "home");
        if (home.device() != this) {
            throw new GemException(Errno.EINVAL, home + " belongs to another device");
        }
        long pages = (size + PagePool.PAGE_SIZE - 1) >>> PagePool.PAGE_SHIFT;
        if (size <= 0 || pages > Integer.MAX_VALUE) {
            throw new GemException(Errno.EINVAL, "invalid object size " + size);
        }
        long id = ids.incrementAndGet();
        ShmemObject o = new ShmemObject(this, id, name, (int) pages, evictor, home);
        // Every live object is on exactly one list: at first the one stage of objects without pages. Recorded without
        // the reservation lock (the object is not shared yet), so creating one takes no lock the caller may hold.
        moves.record(o, stages.stageFor(Placement.NONE));
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

    /**
     * Returns the device's reclaim stages, in scan order.
     *
     * @return the stages its shrinker scans and its lists follow
     */
    public ReclaimStages reclaimStages() {
        return stages;
    }

    /**
     * Returns how long active reclaim waits at most for a busy object of a {@link ReclaimStage#waitsForIdle()}
     * stage before it skips the object.
     *
     * @return the fence wait
     */
    public java.time.Duration fenceWait() {
        return java.time.Duration.ofNanos(fenceWaitNanos);
    }

    long fenceWaitNanos() {
        return fenceWaitNanos;
    }

    /**
     * Allocates an object's pages, its reservation lock held: the reclaim this runs may block (wait for busy objects'
     * fences) only when the driver declared that its GPU jobs never need a reservation lock to finish
     * ({@link DeviceBuilder#reclaimUnderResvMayBlock}); otherwise the wait could be for the caller itself.
     */
    int[] allocatePages(int n, String who) {
        return reclaimUnderResvMayBlock ? pool.allocateMayBlock(n, who) : pool.allocate(n, who);
    }

    /**
     * Returns the device's own domain: the home of objects created without one, and the holder of every list of the
     * stages that are not per-domain.
     *
     * @return the device's domain
     */
    public ReclaimDomain domain() {
        return deviceDomain;
    }

    /**
     * Creates a reclaim domain, typically for one GPU address space: the home of the objects private to it.
     *
     * @param name a name for diagnostics
     * @return the new domain, empty and not yet on the device's domain LRU
     */
    public ReclaimDomain createDomain(String name) {
        return new ReclaimDomain(this, Objects.requireNonNull(name, "name"), false);
    }

    /**
     * Returns the domains that have objects on per-domain lists, least recently used first (after applying the
     * buffered moves, waiting for the LRU lock).
     *
     * @return a snapshot of the device's domain LRU
     */
    public List<ReclaimDomain> domainsInLruOrder() {
        lruLock.lock();
        try {
            moves.drainLocked(null);
            return domainsLocked();
        } finally {
            lruLock.unlock();
        }
    }

    /** The domain LRU, LRU lock held. */
    List<ReclaimDomain> domainsLocked() {
        assert lruLock.isHeldByCurrentThread();
        List<ReclaimDomain> out = new ArrayList<>();
        for (ReclaimDomain d = domainsHead; d != null; d = d.next) {
            out.add(d);
        }
        return out;
    }

    /**
     * Returns the totals of one stage over every domain, lock-free (may be a moment stale; the count is O(1)).
     *
     * @param stage a stage of this device
     * @return its pages and objects
     */
    public GemLru.Total total(ReclaimStage stage) {
        if (!stages.contains(stage)) {
            throw new IllegalArgumentException(stage + " is not a stage of this device");
        }
        return totals[stage.index()];
    }

    /** A new list of a stage in a domain (called while the domain is built). */
    GemLru<ShmemObject> newList(ReclaimDomain d, ReclaimStage s) {
        Placement p = s.placement();
        // The resident lists share the policy's order; DONTNEED objects were given up, pinned ones are held.
        return new GemLru<>(d == deviceDomain || deviceDomain == null ? s.name() : d.name() + "/" + s.name(),
                lruLock, p.resident() ? reclaimOrder : null, p == Placement.PURGEABLE ? GemLru.Use.GIVEN_UP
                        : p == Placement.PINNED ? GemLru.Use.IN_USE : GemLru.Use.IDLE, totals[s.index()]);
    }

    /** Moves a domain with objects to the tail of the domain LRU (touch). */
    void touch(ReclaimDomain d) {
        lruLock.lock();
        try {
            if (d.linked) {
                unlinkDomain(d);
                linkDomain(d);
            }
        } finally {
            lruLock.unlock();
        }
    }

    /** Unlinks a domain from the domain LRU if its per-domain lists ran empty. LRU lock held. */
    void retireDomainIfEmpty(ReclaimDomain d) {
        if (d.linked && d.perDomainSize() == 0) {
            unlinkDomain(d);
        }
    }

    /**
     * After a scan of one of a domain's lists spliced its parked objects back: unlinks the domain if its lists are
     * empty, and links it again (at the tail) if they are not but it was unlinked meanwhile, because a move applied
     * while every object of its lists was parked found them empty. LRU lock held.
     */
    void settleDomainAfterScan(ReclaimDomain d) {
        if (d.perDomainSize() == 0) {
            retireDomainIfEmpty(d);
        } else if (!d.linked) {
            linkDomain(d);
        }
    }

    private void linkDomain(ReclaimDomain d) {
        d.prev = domainsTail;
        d.next = null;
        if (domainsTail == null) {
            domainsHead = d;
        } else {
            domainsTail.next = d;
        }
        domainsTail = d;
        d.linked = true;
    }

    private void unlinkDomain(ReclaimDomain d) {
        if (d.prev == null) {
            domainsHead = d.next;
        } else {
            d.prev.next = d.next;
        }
        if (d.next == null) {
            domainsTail = d.prev;
        } else {
            d.next.prev = d.prev;
        }
        d.prev = null;
        d.next = null;
        d.linked = false;
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
     * Returns the device domain's list of the one stage refining a placement, after applying the buffered placement moves unless another thread holds
     * the LRU lock (it never waits: a caller alone, or one holding the lock, sees the list exact).
     *
     * @param placement any placement but NONE
     * @return the list
     * @throws IllegalArgumentException for NONE, or when several of the device's stages refine the placement
     */
    public GemLru<ShmemObject> lru(Placement placement) {
        if (placement == Placement.NONE) {
            throw new IllegalArgumentException("no LRU for " + placement);
        }
        return deviceDomain.list(stages.stageFor(placement));
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
        ReclaimStage s = stageOf(o);
        return s == null ? Placement.NONE : s.placement();
    }

    /**
     * Returns the stage whose list an object is on now, read under the LRU lock after applying the buffered moves.
     *
     * @param o an object of this device
     * @return its stage, or null when it is on no stage's list (freed, or parked by a scan)
     */
    public ReclaimStage stageOf(ShmemObject o) {
        lruLock.lock();
        try {
            moves.drainLocked(null);
            return stageOnLocked(o);
        } finally {
            lruLock.unlock();
        }
    }

    /** The stage of the list an object is on, LRU lock held: its home's or the device's list of that stage. */
    ReclaimStage stageOnLocked(ShmemObject o) {
        GemLru<?> l = o.lru();
        if (l == null) {
            return null;
        }
        for (ReclaimStage s : stages.stages()) {
            if (deviceDomain.lists[s.index()] == l || o.home().lists[s.index()] == l) {
                return s;
            }
        }
        return null; // parked on a scanner's private list
    }

    /**
     * The stage of the list an object is on when that list is the one of its domain the stage implies (its home's for
     * a per-domain stage, the device's otherwise); null otherwise. For the invariant checker.
     */
    ReclaimStage stageOnOwnList(ShmemObject o) {
        lruLock.lock();
        try {
            moves.drainLocked(null);
            ReclaimStage s = stageOnLocked(o);
            return s != null && onListOf(o, s) ? s : null;
        } finally {
            lruLock.unlock();
        }
    }

    /**
     * Returns whether an object is on the list it belongs to for a stage: its home's list for a per-domain stage,
     * the device's otherwise. LRU lock held.
     */
    boolean onListOf(ShmemObject o, ReclaimStage s) {
        return o.lru() == listFor(o, s);
    }

    private GemLru<ShmemObject> listFor(ShmemObject o, ReclaimStage s) {
        return (s.perDomain() ? o.home() : deviceDomain).lists[s.index()];
    }

    /**
     * Applies one placement move: puts an object at the tail of its list of stage {@code s} (its home's for a
     * per-domain stage, the device's otherwise), or takes it off every list (null), keeping the domain LRU (a domain
     * joins at the tail with its first object on a per-domain list and leaves with its last), and with it
     * the policy's bookkeeping (an insertion, a use or a removal in {@link ReclaimOrder}). The one place a move reaches
     * the lists; called by a drain ({@link LruMoves}), LRU lock held.
     */
    void place(ShmemObject o, ReclaimStage s, long weight) {
        assert lruLock.isHeldByCurrentThread();
        ReclaimDomain home = o.home();
        if (s == null) {
            GemLru.remove(o);
        } else {
            listFor(o, s).moveTail(o, weight);
            if (s.perDomain() && home != deviceDomain && !home.linked) {
                linkDomain(home);
            }
        }
        if (home != deviceDomain) {
            retireDomainIfEmpty(home);
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
