package dev.gemshrink.memory;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.LockValidator;
import dev.gemshrink.locking.TrackedLock;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A budget of RAM in 4 KiB pages holding real bytes. Pages are handed out by frame number, always zero-filled, and
 * all-or-nothing: an allocation of {@code n} pages either returns {@code n} frames or throws and takes none, whatever
 * fails (the pool, a reclaim hook, the backing or a wake-up). When the free frames do not suffice, the pool runs its
 * {@link ReclaimHook}s (direct reclaim) without holding its own lock, a bounded number of times, and then fails. A
 * round that frees nothing while rounds of other threads are running waits for those to end before the next attempt
 * (their scans may hold every candidate parked). An attempt after which at least the pages this allocation missed
 * came back to the pool since its failed take, but other threads took them first, is not counted as a failed
 * attempt (up to a further bound), whether this allocation's hooks freed them or not (a round asks no hook when
 * others' frees already cover the shortfall), so two allocations reclaiming at once do not fail for each other.
 *
 * <p>The caller of an allocation says what its reclaim may do: {@link #allocate} reclaims without blocking (the
 * caller may hold a reservation lock that a GPU job needs to signal its fence, so waiting for a fence could wait for
 * the caller itself), {@link #allocateMayBlock} lets the hooks wait for busy objects for a bounded time, and
 * {@link #allocateNoReclaim} does not reclaim at all.
 *
 * <p>A pool is shared: several devices (and background reclaimers) may use one pool, so hooks are never set, only
 * added. Each {@link #addReclaimHook} and {@link #addLowWatermarkHook} returns a {@link HookRegistration} that its
 * owner closes when it goes away; closing it removes that hook and no other.
 *
 * <p>Thread safety: all methods may be called from any thread. The pool's lock guards the free frames, which frames
 * are handed out, and the used count; it is a leaf: nothing else is locked while it is held, and no hook is called
 * while it is held. The hook lists are copy-on-write, so an allocation reads them without a lock.
 */
public final class PagePool {
    /** The size of one page in bytes. */
    public static final int PAGE_SIZE = 4096;
    /** log2 of {@link #PAGE_SIZE}. */
    public static final int PAGE_SHIFT = 12;

    /** How many rounds of reclaim an allocation runs before it gives up. */
    static final int RECLAIM_RETRIES = 4;
    /** How many more rounds an allocation runs when other threads took the pages that came back for it. */
    static final int RECLAIM_RETRIES_TAKEN = 16;

    private static final byte[] ZEROS = new byte[PAGE_SIZE];

    private final PageBacking backing;
    /** The lock class of every pool's lock. */
    static final LockClass LOCK = LockClass.named("PagePool.lock");

    private final TrackedLock lock = new TrackedLock(LOCK, "PagePool@" + Integer.toHexString(System.identityHashCode(this)));
    private final int[] freeStack; // guarded by lock: frames that are free, top at freeTop - 1
    private int freeTop; // guarded by lock
    // Pages returned to the free frames (by free() or an undone allocation) since the pool was made. Written under
    // lock; volatile so that an allocation can tell, without the lock, whether pages came back since its failed take.
    private volatile long pagesReturnedEver;
    private final BitSet handedOut; // guarded by lock: set = allocated and not yet freed (sized once: never grows)
    // Written under lock, read without it by counts: volatile so a reader sees a recent value.
    private volatile int used;
    private final List<HookRegistration> reclaimHooks = new CopyOnWriteArrayList<>(); // registration order
    private final AtomicInteger reclaimCursor = new AtomicInteger(); // where the next reclaim round starts
    // The reclaim rounds running now on any thread, and how many have ended: an allocation whose own round found
    // nothing waits for the rounds running beside it (their scans hold the candidates parked, or are about to free).
    private final Object rounds = new Object(); // a leaf monitor, held only to count and to wait
    private int roundsRunning; // guarded by rounds
    private long roundsEnded; // guarded by rounds
    // How deep the current thread is in reclaim rounds of any pool (process-wide, as reclaim is): a thread inside a
    // round never waits for rounds to end, since one of them would be its own.
    private static final ThreadLocal<int[]> ROUND_DEPTH = ThreadLocal.withInitial(() -> new int[1]);
    private final List<HookRegistration> lowWatermarkHooks = new CopyOnWriteArrayList<>();

    /**
     * Creates a pool over a backing; every frame of the backing is free.
     *
     * @param backing where the bytes live
     */
    public PagePool(PageBacking backing) {
        this.backing = Objects.requireNonNull(backing, "backing");
        int n = backing.frames();
        this.freeStack = new int[n];
        // Lowest frame numbers on top, so small pools hand out 0, 1, 2, ... (readable in traces).
        for (int i = 0; i < n; i++) {
            freeStack[i] = n - 1 - i;
        }
        this.freeTop = n;
        this.handedOut = new BitSet(n);
    }

    /**
     * Creates a heap-backed pool of {@code pages} pages.
     *
     * @param pages the budget in pages
     * @return a new pool
     */
    public static PagePool ofPages(int pages) {
        return new PagePool(PageBacking.heap(pages));
    }

    /**
     * One hook added to a pool. Closing it removes this hook and leaves every other one in place; a call the pool
     * started before the close may still be running when it returns (it does not wait).
     */
    public final class HookRegistration implements AutoCloseable {
        private final List<HookRegistration> list;
        private final ReclaimHook reclaim; // null for a low-watermark hook
        private final Runnable wake; // null for a reclaim hook
        private final int lowFreePages;

        private HookRegistration(List<HookRegistration> list, ReclaimHook reclaim, Runnable wake, int lowFreePages) {
            this.list = list;
            this.reclaim = reclaim;
            this.wake = wake;
            this.lowFreePages = lowFreePages;
        }

        /** Removes the hook from the pool. Idempotent. */
        @Override
        public void close() {
            list.remove(this);
        }
    }

    /**
     * Adds a hook run when an allocation does not fit. When several are registered, each reclaim round asks them
     * in registration order, round-robin: each round starts one hook further than the previous round did, so no
     * user of a shared pool is always reclaimed first. A round stops as soon as the shortfall is met.
     *
     * @param hook the reclaim hook
     * @return the registration; close it to remove this hook
     */
    public HookRegistration addReclaimHook(ReclaimHook hook) {
        HookRegistration r = new HookRegistration(reclaimHooks, Objects.requireNonNull(hook, "hook"), null, 0);
        reclaimHooks.add(r);
        return r;
    }

    /**
     * Removes every reclaim hook and adds {@code hook}. This treats the pool as its caller's alone; a pool can be
     * shared, so use {@link #addReclaimHook} and close its registration instead.
     *
     * @param hook the reclaim hook, or {@code null} for none
     * @deprecated replaces the hooks of every other user of the pool; use {@link #addReclaimHook}
     */
    @Deprecated
    public void setReclaimHook(ReclaimHook hook) {
        reclaimHooks.clear();
        if (hook != null) {
            addReclaimHook(hook);
        }
    }

    /**
     * Adds what runs (on the allocating thread, with no pool lock held) when an allocation leaves fewer than
     * {@code lowFreePages} pages free: typically waking a background reclaimer. It must neither block nor throw;
     * if it throws, the allocation that ran it is undone and the failure propagates to its caller.
     *
     * @param lowFreePages the low watermark in free pages
     * @param hook         the wake-up
     * @return the registration; close it to remove this hook
     */
    public HookRegistration addLowWatermarkHook(int lowFreePages, Runnable hook) {
        HookRegistration r = new HookRegistration(lowWatermarkHooks, null, Objects.requireNonNull(hook, "hook"),
                lowFreePages);
        lowWatermarkHooks.add(r);
        return r;
    }

    /** Returns the number of reclaim hooks registered now (for tests). */
    int reclaimHookCount() {
        return reclaimHooks.size();
    }

    /** Returns the number of low-watermark hooks registered now (for tests). */
    int lowWatermarkHookCount() {
        return lowWatermarkHooks.size();
    }

    /**
     * Returns the budget.
     *
     * @return the total number of pages
     */
    public int totalPages() {
        return freeStack.length;
    }

    /**
     * Returns the pages handed out and not yet freed.
     *
     * @return used pages
     */
    public int usedPages() {
        return used;
    }

    /**
     * Returns the pages that are free now.
     *
     * @return free pages
     */
    public int freePages() {
        return freeStack.length - used;
    }

    /**
     * Allocates {@code n} zero-filled pages, all or nothing, running reclaim when they do not fit; the reclaim never
     * blocks ({@link ReclaimHook#reclaim(long)}), since the caller may hold a lock that a busy object's GPU job needs
     * to signal its fence (a reservation lock). Whatever fails on the way leaves the pool as it was: an
     * {@link OutOfMemoryError} of the backing (creating a frame's bytes) becomes ENOMEM; any other failure of the
     * backing, a reclaim hook or a low-watermark hook is rethrown as it is, after the frames taken are returned.
     *
     * @param n   how many pages
     * @param who what they are for, used in the error message (for example {@code "bo#3"})
     * @return the frame numbers, in allocation order
     * @throws GemException ENOMEM when {@code n} pages cannot be found even after reclaim, or the backing runs out of
     *                      memory; EINVAL when n is negative
     */
    public int[] allocate(int n, String who) {
        return allocate(n, who, Reclaim.NO_BLOCK);
    }

    /**
     * Allocates like {@link #allocate} for a caller that allows blocking (the kernel's {@code GFP_KERNEL} from a
     * context that holds no reservation lock): the reclaim it runs may wait, for a bounded time, for busy objects'
     * fences ({@link ReclaimHook#reclaimMayBlock(long)}). Call it only while holding no lock that a GPU job needs to
     * signal its fence, or the wait may be for the caller itself.
     *
     * @param n   how many pages
     * @param who what they are for, used in the error message
     * @return the frame numbers, in allocation order
     * @throws GemException as {@link #allocate}
     */
    public int[] allocateMayBlock(int n, String who) {
        return allocate(n, who, Reclaim.MAY_BLOCK);
    }

    /**
     * Allocates {@code n} zero-filled pages from the free frames only, all or nothing, never running reclaim (the
     * kernel's {@code GFP_NOWAIT}): for callers that must fail fast rather than wait for memory to be freed. The
     * low-watermark hooks still run (waking a background reclaimer does not wait for it).
     *
     * @param n   how many pages
     * @param who what they are for, used in the error message
     * @return the frame numbers, in allocation order
     * @throws GemException ENOMEM when fewer than {@code n} frames are free now, or the backing runs out of memory;
     *                      EINVAL when n is negative
     */
    public int[] allocateNoReclaim(int n, String who) {
        return allocate(n, who, Reclaim.NONE);
    }

    /** What an allocation may do when the free frames do not suffice. */
    private enum Reclaim {
        /** Fail at once. */
        NONE,
        /** Run the reclaim hooks, which must not block. */
        NO_BLOCK,
        /** Run the reclaim hooks, which may block for a bounded time. */
        MAY_BLOCK
    }

    private int[] allocate(int n, String who, Reclaim reclaim) {
        if (n < 0) {
            throw new GemException(Errno.EINVAL, "cannot allocate " + n + " pages for " + who);
        }
        if (n > freeStack.length) {
            throw new GemException(Errno.ENOMEM, "cannot allocate " + n + " pages for " + who
                    + ": the pool holds only " + freeStack.length);
        }
        boolean mayReclaim = reclaim != Reclaim.NONE;
        if (mayReclaim) {
            LockValidator.mayEnterReclaim(); // such an allocation may reclaim: the locks held now order before reclaim
        }
        int[] got = new int[n]; // the step that can fail (OutOfMemoryError) comes before anything is taken
        Shortfall shortfall = tryTake(got);
        int attempts = 0;
        int takenByOthers = 0;
        while (mayReclaim && shortfall != null && attempts < RECLAIM_RETRIES) {
            long freed = reclaimRound(n, reclaim == Reclaim.MAY_BLOCK);
            if (freed < 0 || (freed == 0 && !cameBack(shortfall) && !awaitOtherRounds())) {
                break; // no hook, or reclaim made no progress, nobody else freed enough and no one else is reclaiming
            }
            Shortfall again = tryTake(got);
            if (again != null && cameBack(shortfall) && takenByOthers < RECLAIM_RETRIES_TAKEN) {
                // At least the missing pages came back since the failed take (counted by the pool, not as hooks
                // report: the round's own or other threads' frees, which may have left the round nothing to ask for)
                // and other threads took them first: memory is coming back, so this is not one of the failed
                // attempts. One thread alone never gets here: what comes back stays free until it takes it.
                takenByOthers++;
            } else {
                attempts++;
            }
            shortfall = again;
        }
        if (shortfall != null) {
            throw new GemException(Errno.ENOMEM, "cannot allocate " + n + " pages for " + who + ": "
                    + freePages() + " of " + freeStack.length + " free" + (mayReclaim ? " after reclaim"
                            : " (no reclaim: fail fast)"));
        }
        try {
            for (int pfn : got) {
                backing.frame(pfn).put(0, ZEROS);
            }
            int free = freePages();
            for (HookRegistration h : lowWatermarkHooks) {
                if (free < h.lowFreePages) {
                    h.wake.run();
                }
            }
        } catch (Throwable t) {
            giveBack(got);
            if (t instanceof OutOfMemoryError) {
                throw new GemException(Errno.ENOMEM, "cannot allocate " + n + " pages for " + who
                        + ": the page backing ran out of memory", t);
            }
            throw t;
        }
        return got;
    }

    /**
     * Asks the reclaim hooks, round-robin from the cursor, until {@code n} pages are free or each was asked once.
     *
     * @param canBlock whether the allocating caller allows the hooks to block
     * @return the pages the hooks report freed, or -1 when there is no hook
     */
    private long reclaimRound(int n, boolean canBlock) {
        Object[] hooks = reclaimHooks.toArray();
        if (hooks.length == 0) {
            return -1;
        }
        int start = Math.floorMod(reclaimCursor.getAndIncrement(), hooks.length);
        long freed = 0;
        int[] depth = ROUND_DEPTH.get();
        synchronized (rounds) {
            roundsRunning++;
        }
        depth[0]++;
        LockValidator.enterReclaim();
        try {
            for (int i = 0; i < hooks.length; i++) {
                long missing = (long) n - freePages();
                if (missing <= 0) {
                    break;
                }
                ReclaimHook hook = ((HookRegistration) hooks[(start + i) % hooks.length]).reclaim;
                freed += canBlock ? hook.reclaimMayBlock(missing) : hook.reclaim(missing);
            }
        } finally {
            LockValidator.exitReclaim();
            depth[0]--;
            synchronized (rounds) {
                roundsRunning--;
                roundsEnded++;
                rounds.notifyAll();
            }
        }
        return freed;
    }

    /**
     * After a round of this thread's that freed nothing: waits until every reclaim round running now on another
     * thread has ended (each is bounded: reclaim only try-locks), so that the candidates such a round holds parked
     * come back or are freed before this allocation gives up. Does not wait when no other round is running, or when
     * this thread is itself inside a round. An interrupt does not end the wait early (the allocation was not
     * interruptible before); it is kept for the caller.
     *
     * @return true when it waited, so another attempt may succeed
     */
    private boolean awaitOtherRounds() {
        if (ROUND_DEPTH.get()[0] > 0) {
            return false;
        }
        boolean interrupted = false;
        synchronized (rounds) {
            if (roundsRunning == 0) {
                return false;
            }
            long target = roundsEnded + roundsRunning;
            while (roundsEnded < target) {
                try {
                    rounds.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    /**
     * What a take that failed lacked: {@code pages} more free frames than there were, when {@code returnedBefore}
     * pages had come back to the pool in all.
     */
    private record Shortfall(int pages, long returnedBefore) {
    }

    /** Whether at least the pages a failed take lacked came back to the pool since (others may have taken them). */
    private boolean cameBack(Shortfall s) {
        return pagesReturnedEver - s.returnedBefore >= s.pages;
    }

    /**
     * Takes {@code got.length} free frames into {@code got}, or none.
     *
     * @return null when taken; otherwise what was missing, read under the lock with the count of returned pages
     */
    private Shortfall tryTake(int[] got) {
        int n = got.length;
        lock.lock();
        try {
            if (freeTop < n) {
                return new Shortfall(n - freeTop, pagesReturnedEver);
            }
            for (int i = 0; i < n; i++) {
                got[i] = freeStack[--freeTop];
                handedOut.set(got[i]);
            }
            used += n;
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** Returns the frames of an allocation that failed after taking them. */
    private void giveBack(int[] got) {
        lock.lock();
        try {
            for (int pfn : got) {
                handedOut.clear(pfn);
                freeStack[freeTop++] = pfn;
            }
            used -= got.length;
            pagesReturnedEver += got.length;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns pages to the pool, all or none. Entries below 0 (unpopulated slots of a sparse page array) are skipped.
     *
     * @param pfns the frame numbers to free
     * @return how many pages were freed
     * @throws GemException EINVAL when a frame is not one the pool handed out and has not taken back (out of range,
     *                      free already, or listed twice); then nothing is freed
     */
    public int free(int[] pfns) {
        lock.lock();
        try {
            // Check everything before changing anything: clear as we go (catching duplicates), undo on a bad one.
            int freed = 0;
            for (int i = 0; i < pfns.length; i++) {
                int pfn = pfns[i];
                if (pfn < 0) {
                    continue;
                }
                if (pfn >= freeStack.length || !handedOut.get(pfn)) {
                    for (int j = 0; j < i; j++) {
                        if (pfns[j] >= 0) {
                            handedOut.set(pfns[j]);
                        }
                    }
                    throw new GemException(Errno.EINVAL, "cannot free frame " + pfn + ": "
                            + (pfn >= freeStack.length ? "the pool holds " + freeStack.length + " frames"
                                    : "it is not allocated (freed twice?)"));
                }
                handedOut.clear(pfn);
                freed++;
            }
            for (int pfn : pfns) {
                if (pfn >= 0) {
                    freeStack[freeTop++] = pfn;
                }
            }
            used -= freed;
            pagesReturnedEver += freed;
            return freed;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the bytes of a frame the caller owns. Use absolute get/put only.
     *
     * @param pfn the frame number
     * @return the frame's 4 KiB buffer
     */
    public ByteBuffer frame(int pfn) {
        return backing.frame(pfn);
    }

    /**
     * Returns the frames that are free now (for invariant checks; O(free pages)).
     *
     * @return a copy of the free frame numbers
     */
    public int[] freeFrames() {
        lock.lock();
        try {
            return Arrays.copyOf(freeStack, freeTop);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "PagePool[used=" + used + ", total=" + freeStack.length + "]";
    }
}
