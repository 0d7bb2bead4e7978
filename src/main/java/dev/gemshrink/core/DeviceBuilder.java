package dev.gemshrink.core;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PageBacking;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.reclaim.Shrinker;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The settings every device builder shares: the device's name, its RAM budget and where its bytes live, its swap
 * store and its leak detection level. {@link GemDevice.Builder} adds what only the core device has (a shared pool,
 * a shared shrinker registry); a driver's builder (such as the Panfrost one) adds its own settings and builds its
 * core device with {@link #buildGemDevice()}.
 *
 * <p>Validation: a setter refuses an impossible value at once with a {@link GemException} (EINVAL) naming the
 * parameter, so the failure points at the call that made it and a builder never holds an impossible setting (no
 * setting depends on another, so nothing is left to check at build time). Building fails only when the memory for
 * the device cannot be had (ENOMEM).
 *
 * @param <B> the concrete builder, which every setter returns
 */
public abstract class DeviceBuilder<B extends DeviceBuilder<B>> {
    private String name;
    private int ramPages = 64 * 256;
    private PageBacking.Kind backing = PageBacking.Kind.HEAP;
    private SwapStore swap; // null: none
    private LeakDetection leakDetection; // null: from the system property
    private ReclaimPolicy reclaimPolicy = ReclaimPolicy.lru();
    private ReclaimStages reclaimStages = ReclaimStages.standard();
    private java.time.Duration fenceWait = DEFAULT_FENCE_WAIT;
    private boolean reclaimUnderResvMayBlock;
    private String shrinkerName; // null: the device's name
    private UnaryOperator<Shrinker> shrinkerDecorator = UnaryOperator.identity();

    /**
     * Creates the settings with their defaults: 64 MiB of heap-backed RAM, no swap, leak detection from the system
     * property.
     *
     * @param defaultName the device's name unless {@link #name} sets another
     */
    protected DeviceBuilder(String defaultName) {
        this.name = Objects.requireNonNull(defaultName, "defaultName");
    }

    @SuppressWarnings("unchecked") // B is this builder's own class: see the type parameter's bound
    private B self() {
        return (B) this;
    }

    /**
     * Names the device; its shrinker is registered under this name.
     *
     * @param name the name
     * @return this builder
     * @throws GemException EINVAL when the name is null or empty
     */
    public B name(String name) {
        if (name == null || name.isEmpty()) {
            throw invalid("name", "a device needs a name", name);
        }
        this.name = name;
        return self();
    }

    /**
     * Sets the RAM budget in pages of 4 KiB (at most {@link Integer#MAX_VALUE}: a frame number is an int).
     *
     * @param pages the budget
     * @return this builder
     * @throws GemException EINVAL when pages is not positive
     */
    public B ramPages(int pages) {
        if (pages <= 0) {
            throw invalid("ramPages", "the RAM budget must be at least 1 page", pages);
        }
        this.ramPages = pages;
        return self();
    }

    /**
     * Sets the RAM budget in bytes, rounded up to whole pages of 4 KiB.
     *
     * @param bytes the budget
     * @return this builder
     * @throws GemException EINVAL when bytes is not positive, or more than {@link Integer#MAX_VALUE} pages (frame
     *                      numbers are ints, so a pool cannot address more)
     */
    public B ramBytes(long bytes) {
        long pages = bytes <= 0 ? 0 : ((bytes - 1) >>> PagePool.PAGE_SHIFT) + 1;
        if (pages <= 0 || pages > Integer.MAX_VALUE) {
            throw invalid("ramBytes", "the RAM budget must be 1 byte to " + Integer.MAX_VALUE + " pages of "
                    + PagePool.PAGE_SIZE + " bytes", bytes);
        }
        this.ramPages = (int) pages;
        return self();
    }

    /**
     * Sets where the bytes of the RAM budget live (default {@link PageBacking.Kind#HEAP}); {@link
     * PageBacking.Kind#DIRECT} keeps them off the Java heap, in direct buffers a file swap store writes and reads
     * without copying.
     *
     * @param kind the kind of backing
     * @return this builder
     * @throws GemException EINVAL when kind is null
     */
    public B backing(PageBacking.Kind kind) {
        if (kind == null) {
            throw invalid("backing", "choose HEAP or DIRECT", null);
        }
        this.backing = kind;
        return self();
    }

    /**
     * Sets the swap store (default: none, so nothing is ever evicted).
     *
     * @param swap the store
     * @return this builder
     * @throws GemException EINVAL when the store is null or reports a negative capacity
     */
    public B swap(SwapStore swap) {
        if (swap == null) {
            throw invalid("swap", "use SwapStore.none() for no swap", null);
        }
        if (swap.capacityPages() < 0) {
            throw invalid("swap", "its capacity is " + swap.capacityPages() + " pages", swap);
        }
        this.swap = swap;
        return self();
    }

    /**
     * Sets the leak detection level (default: from the system property, see {@link LeakDetection}).
     *
     * @param level the level
     * @return this builder
     */
    public B leakDetection(LeakDetection level) {
        this.leakDetection = level;
        return self();
    }

    /**
     * Sets the order in which the shrinker tries the reclaimable objects of each pass (default
     * {@link ReclaimPolicy#lru()}, the kernel's).
     *
     * @param policy the policy
     * @return this builder
     * @throws GemException EINVAL when policy is null
     */
    public B reclaimPolicy(ReclaimPolicy policy) {
        if (policy == null) {
            throw invalid("reclaimPolicy", "choose one of " + ReclaimPolicy.builtIns(), null);
        }
        this.reclaimPolicy = policy;
        return self();
    }

    /** How long active reclaim waits for a busy object at most unless a builder says otherwise: 10 ms. */
    public static final java.time.Duration DEFAULT_FENCE_WAIT = java.time.Duration.ofMillis(10);

    /**
     * Sets the device's reclaim stages: the lists its objects are kept on and the order its shrinker scans them in
     * (default {@link ReclaimStages#standard()}: purge, then evict).
     *
     * @param stages the stages
     * @return this builder
     * @throws GemException EINVAL when stages is null
     */
    public B reclaimStages(ReclaimStages stages) {
        if (stages == null) {
            throw invalid("reclaimStages", "use ReclaimStages.standard() for purge, then evict", null);
        }
        this.reclaimStages = stages;
        return self();
    }

    /**
     * Sets how long active reclaim waits at most for a busy object of a {@link ReclaimStage#waitsForIdle()} stage
     * (default {@link #DEFAULT_FENCE_WAIT}); a longer wait skips the object. Zero never waits.
     *
     * @param wait the bound
     * @return this builder
     * @throws GemException EINVAL when wait is null or negative
     */
    public B fenceWait(java.time.Duration wait) {
        if (wait == null || wait.isNegative()) {
            throw invalid("fenceWait", "a wait is zero or positive", wait);
        }
        this.fenceWait = wait;
        return self();
    }

    private static GemException invalid(String parameter, String why, Object value) {
        return new GemException(Errno.EINVAL, "invalid " + parameter + " " + value + ": " + why);
    }

    /**
     * Lets a driver register the core device's shrinker under a name of its own (a driver's shrinker is named
     * after the driver, not the device) and wrapped in a decorator of its rules (for example
     * {@link dev.gemshrink.reclaim.NoProgressLimit}).
     *
     * @param name      the shrinker's name
     * @param decorator what wraps the core device's shrinker before it is registered
     * @return this builder
     */
    protected final B shrinker(String name, UnaryOperator<Shrinker> decorator) {
        this.shrinkerName = Objects.requireNonNull(name, "name");
        this.shrinkerDecorator = Objects.requireNonNull(decorator, "decorator");
        return self();
    }

    /**
     * Lets the reclaim that an object's page allocation runs (under the object's reservation lock) wait for busy
     * objects' fences, as reclaim from a context that may block does: for a driver whose GPU jobs never take a
     * reservation lock to finish (the kernel's fence signalling rule), so such a wait can never be for the waiting
     * thread itself. Off by default: a Panfrost-like job drops its BO references, which takes their locks, before its
     * fence signals.
     *
     * @return this builder
     */
    protected final B reclaimUnderResvMayBlock() {
        this.reclaimUnderResvMayBlock = true;
        return self();
    }

    /** Whether allocations under a reservation lock may run reclaim that blocks. */
    final boolean allowsReclaimUnderResvToBlock() {
        return reclaimUnderResvMayBlock;
    }

    /** The name the device's shrinker is registered under. */
    final String shrinkerName() {
        return shrinkerName != null ? shrinkerName : name;
    }

    /** Wraps the device's shrinker in the driver's rules before registration. */
    final Shrinker decorateShrinker(Shrinker shrinker) {
        return shrinkerDecorator.apply(shrinker);
    }

    /**
     * Builds a core device with these settings, a pool of its own and a shrinker registry of its own.
     *
     * @return the core device
     * @throws GemException ENOMEM when there is no memory for the pool's frame table
     */
    protected final GemDevice buildGemDevice() {
        return new GemDevice(this, null, null);
    }

    /**
     * Returns the device's name.
     *
     * @return the name set, or the default name
     */
    protected final String name() {
        return name;
    }

    /** The RAM budget in pages. */
    final int ramPages() {
        return ramPages;
    }

    /** Where the bytes of the RAM budget live. */
    final PageBacking.Kind backing() {
        return backing;
    }

    /** The swap store, or null for none. */
    final SwapStore swap() {
        return swap;
    }

    /** The reclaim policy. */
    final ReclaimPolicy reclaimPolicy() {
        return reclaimPolicy;
    }

    /** The reclaim stages. */
    final ReclaimStages reclaimStages() {
        return reclaimStages;
    }

    /** The fence wait of active reclaim. */
    final java.time.Duration fenceWait() {
        return fenceWait;
    }

    /** The leak detection level, or null to read it from the system property. */
    final LeakDetection leakDetection() {
        return leakDetection;
    }
}
