package dev.gemshrink.core;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.ResvLock;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.reclaim.LruNode;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A shmem-backed buffer object: {@code size} bytes in 4 KiB pages taken lazily from its device's {@link PagePool},
 * with the kernel's page use, pin and vmap counts and madvise state ({@code drm_gem_shmem_helper.c}).
 *
 * <p><b>Owners, not flags.</b> Every reference is an {@link Owner}: a caller's {@link PagesRef}, {@link Pin},
 * {@link VMap} or {@link Export}, or one the object holds itself: the stored sg table's page use, the pins' page use
 * and the CPU mappings' pin. A count is the number of live owners of its kind, so nothing can be taken without an
 * owner that must later release it, and {@link #free()} can name every owner still alive. A reference needed only
 * for the length of a call can be owned by the call instead ({@link #withPin}, {@link #withPages},
 * {@link #withVmap}): counted the same, released exactly once when it returns, and with no owner object to allocate.
 *
 * <p><b>Locking.</b> Each object has a reservation lock ({@link #resv()}, a ww-mutex). Every state change happens
 * under it, except the fast paths: taking a page use, pin or vmap when the count is already above zero (and, for
 * page uses, the pages are resident), and dropping one when the count stays above zero. Those only move a count
 * with a compare-and-set that never leaves or enters zero (the kernel's inc_not_zero / dec_not_one), while every
 * 0 to 1 and 1 to 0 transition happens under the lock with a compare-and-set too; so a fast path can never resurrect
 * a count that the locked path is taking to zero. Every method takes the reservation lock itself unless the calling
 * thread already holds it (the kernel's {@code _locked} variants), so a driver can call them inside its own locked
 * section. Lock order: reservation locks (several only through an
 * {@link dev.gemshrink.locking.AcquireContext}), then the page pool's and swap store's internal locks and the device's LRU lock (leaves; a state
 * change takes the LRU lock only to drain buffered LRU moves, see {@link LruMoves}).
 *
 * <p><b>Residency.</b> The pages are <em>resident</em> (a frame array exists), <em>evicted</em> (their contents are
 * in swap: the page use count is unchanged and the next user swaps them back in, byte-identical), or absent (no
 * use, or purged). These are facts of the page array and the swap receipt; no flag records them.
 */
public final class ShmemObject extends LruNode {
    private static final Logger LOG = LoggerFactory.getLogger(ShmemObject.class);
    // The count words (each a count and its callers' owner tally, see the fields) and the tally field of each
    // other external owner kind. Each a static final constant so the JIT inlines the atomic operations; the object's
    // own kinds have no tally: their one owner is held in a field (sgtUse, pinUse, vmapPin).
    private static final VarHandle PAGES;
    private static final VarHandle PINS;
    private static final VarHandle VMAPS;
    private static final VarHandle HEAP_CHUNK_USES;
    private static final VarHandle EXPORT_HANDLES;
    /** One caller's owner in a count word: its upper 32 bits tally them, its lower 32 bits are the count. */
    private static final long HANDLE = 1L << 32;
    private static final VarHandle LRU_MOVE;
    private static final OwnerKind[] KINDS = OwnerKind.values();
    /** The largest value {@link #timesReclaimed()} reaches: the counter saturates there. */
    public static final int RECLAIM_COUNT_MAX = 255;
    private static final long NAMED_KEY = 1L << 62; // sets named objects' reclaim keys apart from ids

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PAGES = l.findVarHandle(ShmemObject.class, "pages", long.class);
            PINS = l.findVarHandle(ShmemObject.class, "pins", long.class);
            VMAPS = l.findVarHandle(ShmemObject.class, "vmaps", long.class);
            HEAP_CHUNK_USES = l.findVarHandle(ShmemObject.class, "heapChunkUses", int.class);
            EXPORT_HANDLES = l.findVarHandle(ShmemObject.class, "exportHandles", int.class);
            LRU_MOVE = l.findVarHandle(ShmemObject.class, "lruMove", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final GemDevice device;
    private final long id;
    private final String customName; // null: the name is bo#<id>, built when asked (saves a string per object)
    private final int pageCount;
    private final ResvLock resv;
    private final Evictor evictor;
    // The device's list of its objects (intrusive: no map entry per object). Guarded by the device's objects lock.
    ShmemObject devPrev;
    ShmemObject devNext;

    // The kernel's counts (pages_use_count, pages_pin_count, vmap_use_count), each in the lower 32 bits of a word
    // whose upper 32 bits tally its callers' owners (PAGES_HANDLE, PIN_HANDLE, VMAP_HANDLE): a caller's reference
    // moves both halves with one CAS, so the lock-free paths cost one atomic each way and the tally never lags the
    // count. Changed by CAS; the count's 0->1 and 1->0 only under resv.
    private volatile long pages;
    private volatile long pins;
    private volatile long vmaps;
    // Live owners of the other external kinds (atomic adds through the VarHandles above). With the upper halves
    // above, the independent tally the checker compares with the counts; changed by the owner's acquire and
    // release. Fields, not an array: an array would cost a header and a reference per object.
    private volatile int heapChunkUses;
    private volatile int exportHandles;

    // Frame numbers of the pages; null when there is no page array; -1 marks an unpopulated page of a sparse
    // array. Written under resv; volatile so the lock-free paths see a complete array.
    private volatile int[] pfns;
    // Written under resv: frames held (pfns entries >= 0). Volatile because the LRU drain derives the object's
    // weight from it without the lock.
    private volatile int residentPages;
    private SwapSlots swapped; // guarded by resv: the swap copy; non-null exactly when evicted
    // Guarded by resv: the contents were dropped by a discarding reclaim (no frames, no swap copy, uses kept); the
    // next user gets zero-filled pages. A fact like the swap receipt: nothing else records that the bytes are gone.
    private boolean discarded;
    private PagesRef sgtUse; // guarded by resv: the stored sg table's page use (kernel: shmem->sgt)
    private PagesRef pinUse; // guarded by resv: the page use the pins hold; non-null iff the pin count > 0
    private Pin vmapPin; // guarded by resv: the pin the CPU mappings hold; non-null iff the vmap count > 0
    // Written under resv; volatile because reclaim counts read it without the lock.
    private volatile Madv madv = Madv.WILLNEED;
    // Written under resv; volatile so the fast paths see a free that raced with them (they then back out).
    private volatile boolean freed;
    // Guarded by resv: successful purges and evictions, saturating at RECLAIM_COUNT_MAX. A byte: it fits in the
    // object's alignment padding, so the statistic costs no memory per object.
    private byte timesReclaimed;
    // Guarded by resv: discarding reclaims, saturating at RECLAIM_COUNT_MAX (a byte in the padding, as above).
    private byte timesDiscarded;
    private final ReclaimDomain home; // where its lists of per-domain stages are
    // The object's latest LRU move, as LruMoves encodes it (stamp, stage, queued bit); 0 before the first.
    // Replaced under resv by each state change (getAndSet), its queued bit cleared by the drain (getAndBitwiseAnd).
    // The stage in it is a cache of stage(), unavoidable because the drain cannot take resv; the invariant checker
    // verifies that it equals the derived stage.
    @SuppressWarnings("unused")
    private volatile long lruMove;

    ShmemObject(GemDevice device, long id, String customName, int pageCount, Evictor evictor, ReclaimDomain home) {
        this.evictor = evictor;
        this.home = home;
        this.device = device;
        this.id = id;
        this.customName = customName;
        this.pageCount = pageCount;
        this.resv = new ResvLock(this);
    }

    // ------------------------------------------------------------------ identity

    /**
     * Returns the object's name (unique within its device, for messages).
     *
     * @return the name, for example {@code bo#3}
     */
    public String name() {
        return customName != null ? customName : "bo#" + id;
    }

    /**
     * Returns the size.
     *
     * @return the size in bytes, a multiple of {@link PagePool#PAGE_SIZE}
     */
    public long size() {
        return (long) pageCount << PagePool.PAGE_SHIFT;
    }

    /**
     * Returns the number of pages.
     *
     * @return size / 4096
     */
    public int pageCount() {
        return pageCount;
    }

    /**
     * Returns the device the object belongs to.
     *
     * @return the device
     */
    public GemDevice device() {
        return device;
    }

    /**
     * Returns the evictor the shrinker calls for this object.
     *
     * @return the object's evictor
     */
    public Evictor evictor() {
        return evictor;
    }

    /**
     * Returns the reservation lock. Hold it to make several calls atomic, or to lock several objects under an
     * {@link dev.gemshrink.locking.AcquireContext}.
     *
     * @return the object's reservation lock
     */
    public ResvLock resv() {
        return resv;
    }

    // ------------------------------------------------------------------ counts and state (lock-free reads)

    /**
     * Returns {@code pages_use_count}.
     *
     * @return live page owners
     */
    public int pagesUseCount() {
        return count(pages);
    }

    /**
     * Returns {@code pages_pin_count}.
     *
     * @return live pin owners
     */
    public int pinCount() {
        return count(pins);
    }

    /**
     * Returns {@code vmap_use_count}.
     *
     * @return live CPU mappings
     */
    public int vmapCount() {
        return count(vmaps);
    }

    /**
     * Returns the madvise state.
     *
     * @return WILLNEED, DONTNEED or PURGED
     */
    public Madv madv() {
        return madv;
    }

    /**
     * Returns whether the pages are resident (a frame array exists).
     *
     * @return true when resident
     */
    public boolean isResident() {
        return pfns != null;
    }

    /**
     * Returns whether {@link #free()} has been called.
     *
     * @return true once freed
     */
    public boolean isFreed() {
        return freed;
    }

    /**
     * Returns whether the contents are in swap (pages released, use count unchanged). Takes the lock.
     *
     * @return true when evicted
     */
    public boolean isEvicted() {
        return locked(() -> swapped != null);
    }

    /**
     * Returns whether the stored sg table exists and describes resident pages (an evicted object keeps the sg
     * table's page use but has no table until swapped in). Takes the lock.
     *
     * @return true when the stored sg table is built
     */
    public boolean hasSgt() {
        return locked(() -> sgtUse != null && pfns != null);
    }

    /**
     * Returns how many pages are resident now. Takes the lock.
     *
     * @return resident pages
     */
    public int residentPages() {
        return locked(() -> residentPages);
    }

    /**
     * Returns how many pages are held in swap now. Takes the lock.
     *
     * @return swapped pages
     */
    public int swappedPages() {
        return locked(() -> swapped == null ? 0 : swapped.pages());
    }

    /**
     * Returns how many times the object was purged or evicted (each successful reclaim through a
     * {@link ReclaimPermit}), saturating at {@link #RECLAIM_COUNT_MAX}. Takes the lock.
     *
     * @return reclaims so far, 0 to {@link #RECLAIM_COUNT_MAX}
     */
    public int timesReclaimed() {
        return locked(() -> timesReclaimed & 0xff);
    }

    /**
     * Returns whether the contents are discarded now: a discarding reclaim ({@link ReclaimPermit#discard}) dropped
     * them and no user has taken the pages since (the next one gets zero-filled pages). Takes the lock.
     *
     * @return true while discarded
     */
    public boolean isDiscarded() {
        return locked(() -> discarded);
    }

    /**
     * Returns how many times the object's contents were discarded by a reclaim, saturating at
     * {@link #RECLAIM_COUNT_MAX}. Takes the lock.
     *
     * @return discards so far
     */
    public int timesDiscarded() {
        return locked(() -> timesDiscarded & 0xff);
    }

    /** Counts one successful reclaim (a permit's). Resv held. */
    void countReclaim() {
        if ((timesReclaimed & 0xff) < RECLAIM_COUNT_MAX) {
            timesReclaimed++;
        }
    }

    /**
     * Returns whether the object may be purged now: DONTNEED, not pinned, has its stored sg table and pages
     * (resident or in swap), and is not exported. Takes the lock.
     *
     * @return true when purgeable
     */
    public boolean isPurgeable() {
        return locked(this::purgeableLocked);
    }

    private boolean purgeableLocked() {
        return madv == Madv.DONTNEED && count(pins) == 0 && sgtUse != null && (pfns != null || swapped != null)
                && exports() == 0;
    }

    /**
     * Returns whether the object may be evicted now: WILLNEED, not pinned, wholly resident with its stored sg table,
     * not already evicted, and not exported. Takes the lock.
     *
     * @return true when evictable
     */
    public boolean isEvictable() {
        return locked(this::evictableLocked);
    }

    private boolean evictableLocked() {
        return madv == Madv.WILLNEED && count(pins) == 0 && sgtUse != null && pfns != null
                && residentPages == pageCount && exports() == 0;
    }

    private int exports() {
        return exportHandles;
    }

    // ------------------------------------------------------------------ page uses

    /**
     * Takes a page use (get_pages): the first allocates the pages (zero-filled), and an evicted object is swapped
     * back in. Lock-free when the pages are resident and already in use.
     *
     * @return the page use; close it to put the pages
     * @throws GemException ENOMEM when purged or when the pages cannot be allocated; ENOENT when freed
     */
    public PagesRef getPages() {
        return getPages(OwnerKind.PAGES_HANDLE);
    }

    /**
     * Takes a page use for a driver structure (for example a heap chunk table).
     *
     * @param kind a page kind that is not internal
     * @return the page use
     * @throws GemException EINVAL for a kind that is not an external page kind; otherwise as {@link #getPages()}
     */
    public PagesRef getPages(OwnerKind kind) {
        requireExternal(kind, RefKind.PAGES);
        if (pfns != null && incNotZero(PAGES, RefKind.PAGES, step(kind))) {
            // A use taken while the pages were resident; an eviction racing with it is ordered after it, which is
            // allowed (eviction keeps uses). Only a racing free makes us back out.
            return afterFastAcquire(new PagesRef(this, kind));
        }
        return mutate(() -> getPagesLocked(kind));
    }

    /**
     * Runs {@code body} while holding a page use owned by the call itself (see {@link HeldCall}): the use is taken
     * as by {@link #getPages()} and put when {@code body} returns or throws. Counted as a
     * {@link OwnerKind#PAGES_HANDLE} while the call runs, so {@link #free()} and the invariant checker see it like any
     * caller's use. Lock-free and allocation-free when the pages are resident and already in use and leak detection
     * is {@link LeakDetection#SIMPLE}; otherwise the use is taken and put the ordinary way, through a
     * {@link PagesRef}.
     *
     * @param body what to run (a non-capturing function keeps the call allocation-free)
     * @param arg  passed to {@code body}
     * @param <A>  the argument's type
     * @param <R>  the result's type
     * @return what {@code body} returned
     * @throws GemException as {@link #getPages()}; whatever {@code body} throws passes through after the put
     */
    public <A, R> R withPages(HeldCall<A, R> body, A arg) {
        Objects.requireNonNull(body, "body");
        if (device.tracker() == null && pfns != null && incNotZero(PAGES, RefKind.PAGES, 1 + HANDLE)) {
            return heldFast(OwnerKind.PAGES_HANDLE, body, arg);
        }
        return heldBy(getPages(), body, arg);
    }

    private PagesRef getPagesLocked(OwnerKind kind) {
        ensureAlive();
        if (madv == Madv.PURGED) {
            throw new GemException(Errno.ENOMEM, name() + " is purged: its pages are gone");
        }
        if (count(pages) == 0) {
            pfns = device.allocatePages(pageCount, name());
            residentPages = pageCount;
        } else {
            restoreLocked();
        }
        takeLocked(kind);
        return acquired(new PagesRef(this, kind));
    }

    /** Brings back pages that are in use but not resident: swaps an evicted object in, refills a discarded one. */
    private void restoreLocked() {
        if (swapped != null) {
            swapIn();
        } else if (discarded) {
            pfns = device.allocatePages(pageCount, name());
            residentPages = pageCount;
            discarded = false;
        }
    }

    /**
     * Takes a page use on a sparse page array (a heap object's): the first use creates the array with no page
     * populated; {@link #populate} then fills ranges of it. Further uses just count.
     *
     * @param kind a page kind that is not internal (normally {@link OwnerKind#PAGES_HEAP_CHUNKS})
     * @return the page use; closing the last use frees every populated page
     * @throws GemException ENOMEM when purged; ENOENT when freed; EINVAL for a bad kind
     */
    public PagesRef getPagesSparse(OwnerKind kind) {
        requireExternal(kind, RefKind.PAGES);
        return mutate(() -> {
            ensureAlive();
            if (madv == Madv.PURGED) {
                throw new GemException(Errno.ENOMEM, name() + " is purged: its pages are gone");
            }
            if (count(pages) == 0) {
                int[] empty = new int[pageCount];
                java.util.Arrays.fill(empty, -1);
                pfns = empty;
                residentPages = 0;
            } else {
                restoreLocked();
            }
            takeLocked(kind);
            return acquired(new PagesRef(this, kind));
        });
    }

    /**
     * Populates the unpopulated pages of {@code [first, first + count)} with zero-filled pages, all or nothing (the
     * heap-fault path). The caller must hold a page use (so the page array exists).
     *
     * @param first the first page index
     * @param count the number of pages
     * @return a table of the range's pages
     * @throws GemException EINVAL for a bad range or when there is no page array; ENOMEM when the pages cannot be
     *                      allocated (nothing is allocated then)
     */
    public ScatterList populate(int first, int count) {
        return populate(first, count, true);
    }

    /**
     * Populates like {@link #populate(int, int)} but fails fast: the pages come only from the pool's free frames,
     * without running reclaim (the kernel's {@code GFP_NOWAIT}), for paths that must not wait on reclaim.
     *
     * @param first the first page index
     * @param count the number of pages
     * @return a table of the range's pages
     * @throws GemException EINVAL for a bad range or when there is no page array; ENOMEM when the free frames do not
     *                      suffice (nothing is allocated or reclaimed then)
     */
    public ScatterList populateNowait(int first, int count) {
        return populate(first, count, false);
    }

    private ScatterList populate(int first, int count, boolean mayReclaim) {
        return mutate(() -> {
            ensureAlive();
            int[] f = pfns;
            if (f == null || first < 0 || count < 0 || first > pageCount - count) {
                throw new GemException(Errno.EINVAL, "cannot populate pages [" + first + ", +" + count + ") of "
                        + name() + " (" + describe() + ")");
            }
            int holes = 0;
            for (int i = first; i < first + count; i++) {
                if (f[i] < 0) {
                    holes++;
                }
            }
            if (holes > 0) {
                int[] got = mayReclaim ? device.allocatePages(holes, name())
                        : device.pool().allocateNoReclaim(holes, name());
                // Filled in place, O(count): no lock-free reader looks at the entries of an array with holes (pins
                // and mappings refuse it), and the fault path reads them under resv. Publishing by the volatile
                // write below orders the new entries before any later lock-free read.
                int k = 0;
                for (int i = first; i < first + count; i++) {
                    if (f[i] < 0) {
                        f[i] = got[k++];
                    }
                }
                residentPages += holes;
                pfns = f;
            }
            return ScatterList.of(java.util.Arrays.copyOfRange(f, first, first + count), first);
        });
    }

    /** Drops one page use of an owner whose word step is {@code step}; the last frees the backing. Resv held. */
    private void putPagesLocked(long step) {
        if (dropLocked(PAGES, RefKind.PAGES, step)) {
            releaseBacking();
        }
    }

    /** Returns the frames to the pool and the swap copy to the store. Resv held. */
    private int releaseBacking() {
        int freed = 0;
        int[] f = pfns;
        if (f != null) {
            pfns = null;
            residentPages = 0;
            freed = device.pool().free(f);
        }
        if (swapped != null) {
            SwapSlots s = swapped;
            swapped = null;
            device.swap().release(s);
        }
        discarded = false;
        return freed;
    }

    // ------------------------------------------------------------------ pins

    /**
     * Pins the pages: they are made resident (allocated or swapped in) and stay put until the pin is closed.
     * Lock-free when already pinned.
     *
     * @return the pin; close it to unpin
     * @throws GemException ENOMEM when purged or out of memory; ENOENT when freed
     */
    public Pin pin() {
        if (incNotZero(PINS, RefKind.PIN, 1 + HANDLE)) {
            return afterFastAcquire(new Pin(this, OwnerKind.PIN_HANDLE));
        }
        return mutate(() -> pinLocked(OwnerKind.PIN_HANDLE));
    }

    /**
     * Runs {@code body} while holding a pin owned by the call itself (see {@link HeldCall}): the pin is taken as by
     * {@link #pin()} and dropped when {@code body} returns or throws. Counted as a {@link OwnerKind#PIN_HANDLE} while
     * the call runs, so {@link #free()} and the invariant checker see it like any caller's pin. Lock-free and
     * allocation-free when the object is already pinned and leak detection is {@link LeakDetection#SIMPLE};
     * otherwise the pin is taken and dropped the ordinary way, through a {@link Pin}.
     *
     * @param body what to run (a non-capturing function keeps the call allocation-free)
     * @param arg  passed to {@code body}
     * @param <A>  the argument's type
     * @param <R>  the result's type
     * @return what {@code body} returned
     * @throws GemException as {@link #pin()}; whatever {@code body} throws passes through after the unpin
     */
    public <A, R> R withPin(HeldCall<A, R> body, A arg) {
        Objects.requireNonNull(body, "body");
        if (device.tracker() == null && incNotZero(PINS, RefKind.PIN, 1 + HANDLE)) {
            return heldFast(OwnerKind.PIN_HANDLE, body, arg);
        }
        return heldBy(pin(), body, arg);
    }

    private Pin pinLocked(OwnerKind kind) {
        ensureAlive();
        requireWhole("pin");
        if (count(pins) == 0) {
            pinUse = getPagesLocked(OwnerKind.PAGES_PIN);
        }
        takeLocked(kind);
        return acquired(new Pin(this, kind));
    }

    /** Drops one pin of an owner whose word step is {@code step}; the last releases the pins' page use. Resv held. */
    private void unpinLocked(long step) {
        if (dropLocked(PINS, RefKind.PIN, step)) {
            PagesRef u = pinUse;
            pinUse = null;
            u.release();
        }
    }

    // ------------------------------------------------------------------ CPU mappings

    /**
     * Maps the whole object for the CPU (vmap): the first mapping takes a pin. Lock-free when already mapped.
     *
     * @return the mapping; close it to vunmap
     * @throws GemException ENOMEM when purged or out of memory; ENOENT when freed
     */
    public VMap vmap() {
        if (incNotZero(VMAPS, RefKind.VMAP, 1 + HANDLE)) {
            return afterFastAcquire(new VMap(this, OwnerKind.VMAP_HANDLE));
        }
        return mutate(this::vmapLocked);
    }

    /**
     * Runs {@code body} while holding a CPU mapping owned by the call itself (see {@link HeldCall}): the mapping is
     * taken as by {@link #vmap()} and dropped when {@code body} returns or throws. Inside, {@link #read} and
     * {@link #write} on this object are lock-free and allocation-free (they share the held mapping). Counted as a
     * {@link OwnerKind#VMAP_HANDLE} while the call runs, so {@link #free()} and the invariant checker see it like any
     * caller's mapping. Lock-free and allocation-free when the object is already mapped and leak detection is
     * {@link LeakDetection#SIMPLE}; otherwise the mapping is taken and dropped the ordinary way, through a
     * {@link VMap}.
     *
     * @param body what to run (a non-capturing function keeps the call allocation-free)
     * @param arg  passed to {@code body}
     * @param <A>  the argument's type
     * @param <R>  the result's type
     * @return what {@code body} returned
     * @throws GemException as {@link #vmap()}; whatever {@code body} throws passes through after the vunmap
     */
    public <A, R> R withVmap(HeldCall<A, R> body, A arg) {
        Objects.requireNonNull(body, "body");
        if (device.tracker() == null && incNotZero(VMAPS, RefKind.VMAP, 1 + HANDLE)) {
            return heldFast(OwnerKind.VMAP_HANDLE, body, arg);
        }
        return heldBy(vmap(), body, arg);
    }

    private VMap vmapLocked() {
        ensureAlive();
        if (count(vmaps) == 0) {
            vmapPin = pinLocked(OwnerKind.PIN_VMAP);
        }
        takeLocked(OwnerKind.VMAP_HANDLE);
        return acquired(new VMap(this, OwnerKind.VMAP_HANDLE));
    }

    /** Drops one mapping of an owner whose word step is {@code step}; the last drops the mappings' pin. Resv held. */
    private void vunmapLocked(long step) {
        if (dropLocked(VMAPS, RefKind.VMAP, step)) {
            Pin p = vmapPin;
            vmapPin = null;
            p.release();
        }
    }

    /**
     * Copies bytes out through a transient CPU mapping (vmap, copy, vunmap): an evicted object is swapped in.
     * Without another page owner the pages exist only for the call, so they read as zeros. Lock-free and
     * allocation-free while the object is mapped (for example inside {@link #withVmap}) and leak detection is
     * {@link LeakDetection#SIMPLE}.
     *
     * @param offset where to start
     * @param dst    where to copy to (its whole length is read)
     * @throws GemException ENOENT when freed; EINVAL when the range is outside the object (checked first, so
     *                      nothing is swapped in); EFAULT when the object is purged; ENOMEM when out of memory
     */
    public void read(long offset, byte[] dst) {
        access(offset, dst, false);
    }

    /**
     * Copies bytes in through a transient CPU mapping (vmap, copy, vunmap): an evicted object is swapped in.
     * Without another page owner the pages are released again when the call returns. Lock-free and allocation-free
     * while the object is mapped (for example inside {@link #withVmap}) and leak detection is
     * {@link LeakDetection#SIMPLE}.
     *
     * @param offset where to start
     * @param src    what to copy (its whole length is written)
     * @throws GemException ENOENT when freed; EINVAL when the range is outside the object (checked first, so
     *                      nothing is swapped in); EFAULT when the object is purged; ENOMEM when out of memory
     */
    public void write(long offset, byte[] src) {
        access(offset, src, true);
    }

    /**
     * One CPU access. With the object already mapped and no reference tracking, the call owns its mapping reference
     * (no {@link VMap} object, the mapping's pin keeps the frames in place); otherwise it maps the ordinary way.
     */
    private void access(long offset, byte[] arr, boolean write) {
        checkAccess(offset, arr.length);
        if (device.tracker() == null && incNotZero(VMAPS, RefKind.VMAP, 1 + HANDLE)) {
            enteredFast(OwnerKind.VMAP_HANDLE);
            try {
                VMap.copy(this, pfns, offset, arr, 0, arr.length, write);
            } catch (Throwable t) {
                releaseAfter(OwnerKind.VMAP_HANDLE, t);
                throw t;
            }
            releaseHeld(OwnerKind.VMAP_HANDLE);
            return;
        }
        try (VMap m = cpuMap()) {
            if (write) {
                m.write(offset, arr, 0, arr.length);
            } else {
                m.read(offset, arr, 0, arr.length);
            }
        }
    }

    /** A freed object or a bad range fails before anything is mapped or swapped in. */
    private void checkAccess(long offset, long len) {
        ensureAlive();
        if (offset < 0 || len < 0 || offset > size() - len) {
            throw new GemException(Errno.EINVAL, "range [" + offset + ", +" + len + ") is outside " + name() + " of "
                    + size() + " bytes");
        }
    }

    /** Maps for one access (after {@link #checkAccess}); a purged object is EFAULT, as for a CPU fault. */
    private VMap cpuMap() {
        try {
            return vmap();
        } catch (GemException e) {
            if (e.errno() == Errno.ENOMEM && madv == Madv.PURGED) {
                throw new GemException(Errno.EFAULT, "CPU access to " + name() + ", which is purged", e);
            }
            throw e;
        }
    }

    int[] residentPfns() {
        return pfns;
    }

    // ------------------------------------------------------------------ exports

    /**
     * Exports the object to another device (a dma-buf). A shared object is never purged or evicted.
     *
     * @return the export; close it to end the sharing
     * @throws GemException ENOENT when freed; ENOMEM when purged
     */
    public Export export() {
        return mutate(() -> {
            ensureAlive();
            if (madv == Madv.PURGED) {
                throw new GemException(Errno.ENOMEM, name() + " is purged and cannot be exported");
            }
            counted(RefKind.EXPORT, 1);
            return acquired(new Export(this, OwnerKind.EXPORT_HANDLE));
        });
    }

    // ------------------------------------------------------------------ sg tables

    /**
     * Builds a scatter/gather table of the current pages (get_sg_table). Stores nothing and takes no reference;
     * the caller must keep the pages (normally with a pin).
     *
     * @return the table
     * @throws GemException EINVAL when the object has no resident pages
     */
    public ScatterList getSgTable() {
        return locked(() -> {
            ensureAlive();
            int[] f = pfns;
            if (f == null) {
                throw new GemException(Errno.EINVAL, name() + " has no resident pages (" + describe() + ")");
            }
            return ScatterList.of(f);
        });
    }

    /**
     * Returns the stored sg table (get_pages_sgt), creating it on first use: that takes one page use, which the
     * stored table owns until the object is purged or freed. An evicted object is swapped back in.
     *
     * @return the table of the resident pages
     * @throws GemException ENOMEM when purged or out of memory; ENOENT when freed
     */
    public ScatterList getPagesSgt() {
        return mutate(() -> {
            ensureAlive();
            requireWhole("get_pages_sgt of");
            if (sgtUse == null) {
                sgtUse = getPagesLocked(OwnerKind.PAGES_SGT);
            } else {
                restoreLocked();
            }
            return ScatterList.of(pfns);
        });
    }

    // ------------------------------------------------------------------ madvise, purge, evict

    /**
     * Sets the madvise state unless the object is purged (which is sticky).
     *
     * @param advice WILLNEED or DONTNEED
     * @return retained: true unless the object is purged
     * @throws GemException EINVAL for PURGED as advice; ENOENT when freed
     */
    public boolean madvise(Madv advice) {
        if (advice == null || advice == Madv.PURGED) {
            throw new GemException(Errno.EINVAL, "madvise " + name() + ": advice must be WILLNEED or DONTNEED, not "
                    + advice);
        }
        return mutate(() -> {
            ensureAlive();
            if (madv != Madv.PURGED && madv != advice) {
                madv = advice;
            }
            return madv != Madv.PURGED;
        });
    }

    /**
     * Purges the object now through its {@link Evictor} (the driver's policy decides, as in a scan): releases its
     * stored sg table and its pages (or its swap copy) and makes it PURGED for good. Page uses held by others stay
     * counted but find no pages. CPU mappings are impossible here (they pin).
     *
     * @return the number of resident pages freed
     * @throws GemException EBUSY when the object is not purgeable (see {@link #isPurgeable()}) or its evictor
     *                      refuses; ENOENT when freed
     */
    public int purge() {
        return reclaimNow(true);
    }

    /**
     * Evicts the object now through its {@link Evictor} (the driver's policy decides, as in a scan): writes its
     * pages to the device's swap store and releases them. The page use count does not change; the next get_pages,
     * pin, vmap, get_pages_sgt or CPU access swaps the contents back in, byte-identical. If the swap write fails the
     * object stays resident and intact.
     *
     * @return the number of pages freed
     * @throws GemException EBUSY when the object is not evictable (see {@link #isEvictable()}) or its evictor
     *                      refuses; ENOMEM when the swap store is full or fails to write; ENOENT when freed
     */
    public int evict() {
        return reclaimNow(false);
    }

    private int reclaimNow(boolean purge) {
        return mutate(() -> {
            ensureAlive();
            ReclaimPermit permit = callEvictor(purge);
            if (!permit.isUsed()) {
                throw new GemException(Errno.EBUSY, "cannot " + (purge ? "purge " : "evict ") + name() + ": "
                        + describe() + ((purge ? purgeableLocked() : evictableLocked()) ? " (its evictor refused)" : ""));
            }
            return permit.freedPages();
        });
    }

    /**
     * Calls the evictor with a permit that expires when it returns; what the permit did is the truth (an evictor
     * answering DONE without reclaiming frees nothing). Resv held.
     */
    ReclaimPermit callEvictor(boolean purge) {
        ReclaimPermit permit = new ReclaimPermit(this);
        try {
            if (purge) {
                evictor.purge(this, permit);
            } else {
                evictor.evict(this, permit);
            }
        } finally {
            permit.expire();
        }
        return permit;
    }

    /** The purge itself (through a permit only): teardown first, then nothing can fail. Resv held. */
    int purgeLocked(Runnable teardown) {
        return mutate(() -> {
            ensureAlive();
            if (!purgeableLocked()) {
                throw new GemException(Errno.EBUSY, "cannot purge " + name() + ": " + describe());
            }
            if (teardown != null) {
                teardown.run();
            }
            madv = Madv.PURGED;
            int freedPages = residentPages;
            PagesRef s = sgtUse;
            sgtUse = null;
            s.release();
            releaseBacking();
            return freedPages;
        });
    }

    /**
     * The eviction itself (through a permit only): the swap write first (the step that can fail; the store rolls
     * back its own reservation), then the teardown (on any throwable the swap copy is dropped and the object stays
     * resident and intact), then the frames go. Resv held.
     */
    int evictLocked(Runnable teardown) {
        // A refusal for want of room changes nothing, so it does not re-place the object either (the scan keeps
        // its LRU order).
        if (!device.swap().hasRoom(pageCount)) {
            throw new GemException(Errno.ENOMEM, "cannot evict " + name() + ": swap has no room for " + pageCount
                    + " pages");
        }
        return mutate(() -> {
            ensureAlive();
            if (!evictableLocked()) {
                throw new GemException(Errno.EBUSY, "cannot evict " + name() + ": " + describe());
            }
            int[] f = pfns;
            SwapSlots slots;
            try {
                slots = device.swap().store(frames(f));
            } catch (IOException | RuntimeException e) {
                throw new GemException(Errno.ENOMEM, "cannot evict " + name() + ": swap write failed: "
                        + e.getMessage(), e);
            }
            if (teardown != null) {
                try {
                    teardown.run();
                } catch (Throwable t) {
                    try {
                        device.swap().release(slots);
                    } catch (Throwable r) {
                        t.addSuppressed(r);
                    }
                    throw t;
                }
            }
            swapped = slots;
            RefTracker t = device.tracker();
            if (t != null) {
                t.stored(this, slots);
            }
            pfns = null;
            residentPages = 0;
            device.pool().free(f);
            return f.length;
        });
    }

    /**
     * The discard itself (through a permit only): an evictable object's driver teardown runs first (if it throws,
     * nothing changes), then its frames go without a swap copy. Its page uses stay; the next user gets zero-filled
     * pages. Resv held.
     */
    int discardLocked(Runnable teardown) {
        return mutate(() -> {
            ensureAlive();
            if (!evictableLocked()) {
                throw new GemException(Errno.EBUSY, "cannot discard " + name() + ": " + describe());
            }
            if (teardown != null) {
                teardown.run();
            }
            int[] f = pfns;
            pfns = null;
            residentPages = 0;
            discarded = true;
            if ((timesDiscarded & 0xff) < RECLAIM_COUNT_MAX) {
                timesDiscarded++;
            }
            device.pool().free(f);
            return f.length;
        });
    }

    /** Reads the swap copy back into new frames; on failure nothing changes. Resv held, swapped != null. */
    private void swapIn() {
        int[] f = device.allocatePages(pageCount, name());
        try {
            device.swap().load(swapped, frames(f));
        } catch (Throwable t) {
            device.pool().free(f);
            if (t instanceof Error) {
                throw (Error) t; // restored: the frames are back and the swap copy is kept
            }
            throw new GemException(Errno.EFAULT, "swap-in of " + name() + " failed (the swap copy is kept): "
                    + t.getMessage(), t);
        }
        SwapSlots s = swapped;
        swapped = null;
        pfns = f;
        residentPages = pageCount;
        device.swap().release(s);
    }

    private ByteBuffer[] frames(int[] f) {
        ByteBuffer[] out = new ByteBuffer[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = device.pool().frame(f[i]);
        }
        return out;
    }

    // ------------------------------------------------------------------ free

    /**
     * Frees the object (its last reference is gone): releases what the object owns itself (the stored sg table's
     * page use) and then, if no other owner remains, its pages. Any other live owner is a leak: it is reported,
     * logged, and keeps the object's pages until it is closed (so the invariant checker sees the leak too).
     *
     * @return the leaks; empty when the object was released cleanly
     * @throws GemException ENOENT when already freed
     */
    public LeakReport free() {
        // The final move is applied before free returns: the object is off every list (a scanner's private one
        // included), and every later move of a freed object is NONE, so no drain can put it back.
        return mutate(() -> {
            if (freed) {
                throw new GemException(Errno.ENOENT, name() + " is already freed");
            }
            freed = true;
            if (sgtUse != null) {
                PagesRef s = sgtUse;
                sgtUse = null;
                s.release();
            }
            LeakReport report = leakReport();
            if (report.isEmpty()) {
                device.retire(this);
            } else {
                LOG.warn("{}", report);
            }
            return report;
        }, true);
    }

    /**
     * Lists the owners that are live now, per kind; with tracking on, also every open count transition with where
     * it happened.
     *
     * @return the live owners of this object
     */
    public LeakReport leakReport() {
        return locked(() -> {
            Map<OwnerKind, Integer> counts = new EnumMap<>(OwnerKind.class);
            for (OwnerKind k : KINDS) {
                int n = tallyOf(k);
                if (n != 0) {
                    counts.put(k, n);
                }
            }
            RefTracker t = device.tracker();
            return new LeakReport(name(), counts, t == null ? List.of() : transitions(t),
                    t == null ? device.trackingHint() : null);
        });
    }

    /**
     * Live owners of one kind: the upper half of its count word or its tally field, or for the object's own kinds
     * whether their owner is held.
     */
    private int tallyOf(OwnerKind k) {
        switch (k) {
            case PAGES_HANDLE:
                return handles(pages);
            case PAGES_HEAP_CHUNKS:
                return heapChunkUses;
            case PIN_HANDLE:
                return handles(pins);
            case VMAP_HANDLE:
                return handles(vmaps);
            case EXPORT_HANDLE:
                return exportHandles;
            case PAGES_PIN:
                return pinUse != null ? 1 : 0;
            case PAGES_SGT:
                return sgtUse != null ? 1 : 0;
            case PIN_VMAP:
                return vmapPin != null ? 1 : 0;
            default:
                throw new AssertionError(k);
        }
    }

    /** Moves the tally field of a kind that has one; the callers' kinds move with their count (see {@link #step}). */
    private void addTally(OwnerKind k, int delta) {
        switch (k) {
            case PAGES_HEAP_CHUNKS:
                HEAP_CHUNK_USES.getAndAdd(this, delta);
                break;
            case EXPORT_HANDLE:
                EXPORT_HANDLES.getAndAdd(this, delta);
                break;
            default:
                break; // a caller's kind: tallied in its count word; the object's own: by the field holding it
        }
    }

    /** The count in a count word's lower half. */
    private static int count(long word) {
        return (int) word;
    }

    /** The callers' owners tallied in a count word's upper half. */
    private static int handles(long word) {
        return (int) (word >>> 32);
    }

    /**
     * What one reference of an owner of {@code k} adds to its count word: one count, and one tally for the
     * callers' kinds the word tallies.
     */
    private static long step(OwnerKind k) {
        return k == OwnerKind.PAGES_HANDLE || k == OwnerKind.PIN_HANDLE || k == OwnerKind.VMAP_HANDLE ? 1 + HANDLE : 1;
    }

    // ------------------------------------------------------------------ owner bookkeeping

    void release(Owner o) {
        RefTracker t = device.tracker();
        if (t != null) {
            t.releasing(o);
        }
        releaseHeld(o.kind());
    }

    /**
     * Drops one reference of an owner of {@code k}: its tally, then its count (lock-free unless it reaches zero).
     * The release of an owner object, and the end of a call that owned its reference (see {@link HeldCall}).
     */
    private void releaseHeld(OwnerKind k) {
        addTally(k, -1);
        long step = step(k);
        switch (k.ref()) {
            case PAGES:
                if (!decNotOne(PAGES, RefKind.PAGES, step)) {
                    mutate(() -> {
                        putPagesLocked(step);
                        retireIfUnowned();
                        return null;
                    });
                }
                break;
            case PIN:
                if (!decNotOne(PINS, RefKind.PIN, step)) {
                    mutate(() -> {
                        unpinLocked(step);
                        return null;
                    });
                }
                break;
            case VMAP:
                if (!decNotOne(VMAPS, RefKind.VMAP, step)) {
                    mutate(() -> {
                        vunmapLocked(step);
                        return null;
                    });
                }
                break;
            case EXPORT:
                counted(RefKind.EXPORT, -1);
                mutate(() -> {
                    retireIfUnowned();
                    return null;
                });
                break;
            default:
                throw new AssertionError(k);
        }
    }

    /** A freed object whose leaked owners are all closed now holds nothing: the device forgets it. Resv held. */
    private void retireIfUnowned() {
        if (freed && count(pages) == 0 && exports() == 0) {
            device.retire(this);
        }
    }

    private <O extends Owner> O acquired(O o) {
        addTally(o.kind(), 1);
        RefTracker t = device.tracker();
        if (t != null) {
            t.owned(o);
        }
        return o;
    }

    private <O extends Owner> O afterFastAcquire(O o) {
        acquired(o);
        if (freed) {
            // free() ran between our check and our increment: undo through the normal release path.
            o.release();
            throw new GemException(Errno.ENOENT, name() + " is freed");
        }
        return o;
    }

    /** The ordinary path of the {@code with} methods: an owner object holds the reference for the call. */
    private <A, R> R heldBy(Owner owner, HeldCall<A, R> body, A arg) {
        try (owner) {
            return body.call(this, arg);
        }
    }

    /**
     * The lock-free path of the {@code with} methods: the count and its callers' tally have just been taken by
     * inc_not_zero for a call that owns the reference (tracking is off); run the body, drop it. No owner object: the
     * call is the owner, and nothing but this frame can release the reference, so it is released exactly once.
     */
    private <A, R> R heldFast(OwnerKind kind, HeldCall<A, R> body, A arg) {
        enteredFast(kind);
        R result;
        try {
            result = body.call(this, arg);
        } catch (Throwable t) {
            releaseAfter(kind, t);
            throw t;
        }
        releaseHeld(kind);
        return result;
    }

    /**
     * After a call took a caller's reference on the lock-free path (its inc_not_zero tallied it in the count word):
     * when a {@code free()} raced with the increment, backs out through the normal release and fails, as
     * {@link #afterFastAcquire} does for an owner object.
     */
    private void enteredFast(OwnerKind kind) {
        if (freed) {
            releaseHeld(kind);
            throw new GemException(Errno.ENOENT, name() + " is freed");
        }
    }

    /** Drops a call's reference after the call threw {@code t}; whatever the drop throws is added to {@code t}. */
    private void releaseAfter(OwnerKind kind, Throwable t) {
        try {
            releaseHeld(kind);
        } catch (Throwable r) {
            t.addSuppressed(r);
        }
    }

    /** Where a live owner's count was taken (tracking only): the site first. */
    java.util.Optional<Throwable> acquiredAt(Owner o) {
        RefTracker t = device.tracker();
        List<StackTraceElement> stack = t == null ? null : t.acquiredAt(o);
        if (stack == null) {
            return java.util.Optional.empty();
        }
        Throwable where = new Throwable(o + " acquired here");
        where.setStackTrace(stack.toArray(StackTraceElement[]::new));
        return java.util.Optional.of(where);
    }

    /**
     * Moves a count up by one under the lock for an owner of {@code kind} about to be created (the caller has done
     * what a 0 -> 1 needs), with its tally when the count word holds it, and records it when tracking: the one place
     * the locked paths take a reference, each followed by the owner that holds it. Resv held.
     */
    private void takeLocked(OwnerKind kind) {
        take(kind.ref(), step(kind));
    }

    /** Moves a count up by one and nothing else, as a path that creates no owner would. Resv held. */
    void takeLocked(RefKind ref) {
        take(ref, 1);
    }

    private void take(RefKind ref, long step) {
        switch (ref) {
            case PAGES:
                PAGES.getAndAdd(this, step);
                break;
            case PIN:
                PINS.getAndAdd(this, step);
                break;
            case VMAP:
                VMAPS.getAndAdd(this, step);
                break;
            default:
                throw new IllegalArgumentException(ref + " is counted by its owners' tally");
        }
        counted(ref, 1);
    }

    /**
     * Drops one reference from a count word under the lock: a CAS loop, because the lock-free paths may move the
     * word meanwhile (never to or from a zero count). Returns whether the count reached zero. Resv held.
     */
    private boolean dropLocked(VarHandle word, RefKind ref, long step) {
        long c;
        do {
            c = (long) word.getVolatile(this);
        } while (!word.compareAndSet(this, c, c - step));
        counted(ref, -1);
        return count(c) == 1;
    }

    /** Records a count transition when tracking; with tracking off, one null check. */
    private void counted(RefKind ref, int delta) {
        RefTracker t = device.tracker();
        if (t != null) {
            t.counted(this, ref, delta);
        }
    }

    /** This object's open transitions (tracking only), each told whether its owner is still held. Resv held. */
    private List<RefTransition> transitions(RefTracker t) {
        return t.transitions(this, this::holds);
    }

    /** Whether an owner is still held: the object's own by the field for it, a caller's until closed. Resv held. */
    private boolean holds(Owner o) {
        switch (o.kind()) {
            case PAGES_SGT:
                return o == sgtUse;
            case PAGES_PIN:
                return o == pinUse;
            case PIN_VMAP:
                return o == vmapPin;
            default:
                return o.isLive();
        }
    }

    /**
     * inc_not_zero on a count word: adds {@code step} unless the count is zero (then the locked path must do the
     * 0 -> 1) or the object is freed. The word is read and swapped whole, so the count and its tally move together.
     */
    private boolean incNotZero(VarHandle word, RefKind ref, long step) {
        if (freed) {
            return false;
        }
        long c;
        do {
            c = (long) word.getVolatile(this);
            if (count(c) == 0) {
                return false;
            }
        } while (!word.compareAndSet(this, c, c + step));
        counted(ref, 1);
        return true;
    }

    /** dec_not_one on a count word: subtracts {@code step} unless the count would reach zero (the locked path's). */
    private boolean decNotOne(VarHandle word, RefKind ref, long step) {
        long c;
        do {
            c = (long) word.getVolatile(this);
            if (count(c) <= 1) {
                return false;
            }
        } while (!word.compareAndSet(this, c, c - step));
        counted(ref, -1);
        return true;
    }

    private void requireExternal(OwnerKind kind, RefKind ref) {
        if (kind == null || kind.internal() || kind.ref() != ref) {
            throw new GemException(Errno.EINVAL, kind + " is not an owner kind a caller may take on " + name());
        }
    }

    /**
     * Refuses a sparse page array with unpopulated pages (a heap object's): pins, CPU mappings and the stored sg
     * table describe every page, and an unpopulated one has no frame. Resv held.
     */
    private void requireWhole(String what) {
        if (pfns != null && residentPages < pageCount && swapped == null) {
            throw new GemException(Errno.EINVAL, what + " " + name() + ": " + (pageCount - residentPages)
                    + " of its " + pageCount + " pages are not populated (sparse page array)");
        }
    }

    private void ensureAlive() {
        if (freed) {
            throw new GemException(Errno.ENOENT, name() + " is freed");
        }
    }

    /** Runs a read under the reservation lock (taken unless the calling thread holds it). */
    <T> T locked(Supplier<T> body) {
        if (resv.isHeldByCurrentThread()) {
            return body.get();
        }
        resv.lock();
        try {
            return body.get();
        } finally {
            resv.unlock();
        }
    }

    /**
     * Runs a state change under the reservation lock and then records the move to the LRU its new state implies
     * (applied to the lists by a later drain, see {@link LruMoves}): every slow path goes through here, so placement
     * is computed in one place and cannot be forgotten.
     */
    private <T> T mutate(Supplier<T> body) {
        return mutate(body, false);
    }

    /**
     * {@link #mutate(Supplier)}, recording the LRU move in the device's buffer ({@code applyNow} false: a drain
     * applies it later) or applying it before returning ({@code applyNow} true).
     */
    private <T> T mutate(Supplier<T> body, boolean applyNow) {
        return locked(() -> {
            try {
                return body.get();
            } finally {
                if (applyNow) {
                    device.moves().recordAndApply(this, stage());
                } else {
                    device.moves().record(this, stage());
                }
            }
        });
    }

    /** Replaces the object's latest LRU move; returns the one before. Resv held. */
    long publishMove(long move) {
        return (long) LRU_MOVE.getAndSet(this, move);
    }

    /** Clears the queued bit of the latest LRU move; returns the move as it was. LRU lock held (the drain). */
    long takeMove() {
        return (long) LRU_MOVE.getAndBitwiseAnd(this, ~LruMoves.QUEUED);
    }

    /** The stage the latest recorded LRU move asks for (null when off every list, and before the first). */
    ReclaimStage movedTo() {
        return device.moves().stage(lruMove);
    }

    /**
     * Derives the object's reclaim stage again and records the move to its list, after a fact of the driver that
     * the device's stage classifier reads changed (a GPU mapping, a CPU mmap, a fence). The reservation lock is taken
     * unless the calling thread holds it already (a driver typically changes such a fact under it).
     */
    public void restage() {
        if (resv.isHeldByCurrentThread()) {
            device.moves().record(this, stage());
        } else {
            mutate(() -> null);
        }
    }

    /**
     * Returns the object's home domain: where it sits on the lists of per-domain stages.
     *
     * @return the domain given at creation (the device's own by default)
     */
    public ReclaimDomain home() {
        return home;
    }

    /**
     * The reclaim stage the object's state implies now (docs/architecture.md, "Reclaim stages"): the device's
     * classifier applied to its placement; null once freed. Resv held.
     */
    ReclaimStage stage() {
        return freed ? null : device.reclaimStages().derive(this, placement());
    }

    /**
     * The pages the object counts for on list {@code p}, derived without the reservation lock (the drain): its page
     * count in swap (an eviction writes every page), its resident pages otherwise.
     */
    long weightOn(Placement p) {
        return p == Placement.EVICTED || p == Placement.EVICTED_PURGEABLE ? pageCount : residentPages;
    }

    /**
     * The key a reclaim policy's history knows this object by: its name when it has one, so that an object freed
     * and created again under the same name (a cache refilling an entry) meets its history; otherwise its id.
     */
    @Override
    protected long reclaimKey() {
        return customName == null ? id : NAMED_KEY | (customName.hashCode() & 0xffff_ffffL);
    }

    /** Which LRU the current state implies (docs/kernel-model.md section 3). Resv held. */
    Placement placement() {
        if (freed || madv == Madv.PURGED) {
            return Placement.NONE;
        }
        if (swapped != null) {
            return purgeableLocked() ? Placement.EVICTED_PURGEABLE : Placement.EVICTED;
        }
        if (pfns == null) {
            return Placement.NONE;
        }
        if (purgeableLocked()) {
            return Placement.PURGEABLE;
        }
        return evictableLocked() ? Placement.EVICTABLE : Placement.PINNED;
    }

    private long lruWeightLocked() {
        device.lruLock().lock();
        try {
            return lruWeight();
        } finally {
            device.lruLock().unlock();
        }
    }

    // ------------------------------------------------------------------ inspection

    /**
     * Takes a consistent snapshot of the object's bookkeeping (under its reservation lock), for the invariant
     * checker and for diagnostics. Lock-free fast paths on other threads can move the counts right after.
     *
     * @return the snapshot
     */
    public ObjectState inspect() {
        return locked(() -> {
            // Each count word read once: its count and its callers' tally are one snapshot even while lock-free
            // paths run.
            long p = pages;
            long q = pins;
            long v = vmaps;
            Map<OwnerKind, Integer> t = new EnumMap<>(OwnerKind.class);
            for (OwnerKind k : KINDS) {
                t.put(k, tallyOf(k));
            }
            t.put(OwnerKind.PAGES_HANDLE, handles(p));
            t.put(OwnerKind.PIN_HANDLE, handles(q));
            t.put(OwnerKind.VMAP_HANDLE, handles(v));
            int[] f = pfns;
            RefTracker tracker = device.tracker();
            List<RefTransition> open = tracker == null ? List.of() : transitions(tracker);
            return new ObjectState(name(), pageCount, count(p), count(q), count(v), madv, freed,
                    f == null ? null : f.clone(), residentPages, swapped,
                    sgtUse != null, pinUse != null, vmapPin != null, t,
                    tracker == null ? -1 : (int) open.stream().filter(RefTransition::matched).count(), open,
                    tracker == null ? List.of() : tracker.strayReceipts(this, swapped), device.placementOf(this),
                    lruWeightLocked(), discarded, movedTo(), stage(), device.stageOnOwnList(this));
        });
    }

    /** The counts and state for messages, and the live owners (with where each was taken, when tracking). */
    private String describe() {
        StringBuilder owners = new StringBuilder();
        RefTracker t = device.tracker();
        if (t != null) {
            for (RefTransition r : transitions(t)) {
                owners.append(owners.length() == 0 ? "" : ", ").append(r);
            }
        } else {
            for (OwnerKind k : KINDS) {
                int n = tallyOf(k);
                if (n != 0) {
                    owners.append(owners.length() == 0 ? "" : ", ").append(k).append(" x").append(n);
                }
            }
        }
        return "madv=" + madv.name().toLowerCase(java.util.Locale.ROOT) + " pages_use=" + count(pages)
                + " pin=" + count(pins) + " vmap=" + count(vmaps) + " resident=" + residentPages
                + " swapped=" + (swapped == null ? 0 : swapped.pages()) + (discarded ? " discarded" : "")
                + " sgt=" + (sgtUse != null)
                + " exports=" + exports() + " owners: " + (owners.length() == 0 ? "none" : owners);
    }

    @Override
    public String toString() {
        return name() + "[" + size() + " bytes]";
    }
}
