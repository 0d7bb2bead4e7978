package dev.gemshrink.core;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * How a device's placement moves reach its LRU lists: recorded lock-free by the state changes, applied later in a
 * batch under the LRU lock (a drain).
 *
 * <p><b>Recording.</b> At the end of every slow-path state change (under the object's reservation lock) the object
 * publishes a <em>move</em> in one word of its own: a stamp from the device's clock, the reclaim stage its state now
 * implies (whose list, in the object's home domain or the device's, is the object's place), and a queued bit. The first move that sets the queued bit also puts the object in the {@link MoveBuffer};
 * later moves only replace the word, so an object is buffered at most once however often it changes. The moves of a
 * single thread, and moves ordered by happens-before, get increasing stamps.
 *
 * <p><b>Draining</b> (LRU lock held): take the buffered objects, clear each one's queued bit (reading its latest
 * move in the same atomic step), sort them by stamp and apply each object's latest move through
 * {@link GemDevice#place}: to the tail of the list of the stage it names, or off every list. Applying only the latest move of each
 * object, in stamp order, leaves the lists exactly as applying every move in stamp order would: an object's position
 * is that of its last move. An object whose queued bit is already clear was applied by an earlier drain and is
 * skipped. The weight is derived when the move is applied: the object's page count in swap (an eviction writes every
 * page), its resident pages otherwise.
 *
 * <p><b>Who drains</b>: a thread whose stripe is full (it try-locks the LRU lock and, if another thread holds it,
 * waits for it: the lock is a leaf held only for bounded work, and the waiter holds nothing but reservation locks,
 * which come first in the lock order; the move is never dropped); {@link ShmemObject#free()} for its own final move
 * (so a freed object is off every list when free returns, and no later drain can put it back: every later move of a
 * freed object is NONE); the scanner before and after it scans (under the lock it takes to scan); every reader
 * of list order or totals: {@link GemDevice#lru} and the shrinker's count with a try-lock (a count may miss the moves
 * buffered while another thread holds the lock), {@link GemDevice#placementOf} (and through it
 * {@link ShmemObject#inspect()} and the invariant checker) and {@link GemDevice#drainMoves()} waiting for the lock;
 * and the background reclaimer on each wake-up, through {@link dev.gemshrink.reclaim.Shrinker#applyDeferred()}.
 *
 * <p><b>Under a reclaim policy other than {@code lru}</b> every move is applied when it is recorded (with whatever
 * is buffered), waiting for the LRU lock as every state change did before moves were buffered: the policy's order
 * counts a use when an idle object is wanted again, a fact of the sequence of moves that an object's latest move
 * alone does not carry.
 *
 * <p>Exactness: the moves recorded before a drain starts are applied by it in stamp order, so the lists a scan reads
 * are those the moves would have produced one by one. A move recorded while a drain runs is applied by it or by the
 * next one.
 */
final class LruMoves {
    /** The queued bit of a move word. */
    static final long QUEUED = 1;
    // The stage's index plus one (0: off every list), in the bits above the queued bit.
    private static final int STAGE_SHIFT = 1;
    private static final long STAGE_MASK = 0b11111;
    /** The most stages a device may have: what the move word's stage field holds. */
    static final int MAX_STAGES = (int) STAGE_MASK;
    private static final int STAMP_SHIFT = 6;
    // A sort key is the stamp above the batch index: stamps stay below 2^51 (years of moves at a billion a second).
    private static final int INDEX_BITS = 12;
    // The clock's one counter, 64 bytes from either end of its array so no other data shares its cache line.
    private static final int CLOCK = 8;

    private final GemDevice device;
    private final java.util.List<ReclaimStage> stages;
    private final ReentrantLock lock;
    private final MoveBuffer buffer;
    private final AtomicLongArray clock = new AtomicLongArray(2 * CLOCK + 1);
    // Guarded by lock: the drain's scratch space (a drain allocates nothing).
    private final ShmemObject[] batch;
    private final long[] moves;
    private final long[] keys;

    LruMoves(GemDevice device, ReentrantLock lock, MoveBuffer buffer) {
        this.device = device;
        this.stages = device.reclaimStages().stages();
        if (stages.size() > MAX_STAGES) {
            throw new IllegalArgumentException("at most " + MAX_STAGES + " reclaim stages: " + stages.size());
        }
        this.lock = lock;
        this.buffer = buffer;
        int room = buffer.capacity() + 1; // the buffer, and the drainer's own object
        if (room > 1 << INDEX_BITS) {
            throw new IllegalArgumentException("buffer too large for the sort keys: " + room);
        }
        batch = new ShmemObject[room];
        moves = new long[room];
        keys = new long[room];
    }

    /** The stage a move word names, or null for off every list (and before the first move). */
    ReclaimStage stage(long move) {
        int i = (int) ((move >>> STAGE_SHIFT) & STAGE_MASK);
        return i == 0 ? null : stages.get(i - 1);
    }

    /**
     * Records that an object's state now implies stage {@code p}. Resv held by the caller.
     *
     * @param o the object
     * @param p its stage now, or null for off every list (freed)
     */
    void record(ShmemObject o, ReclaimStage p) {
        if (device.reclaimOrder() != null) {
            // A policy's order tells a use from the sequence of moves (idle, then wanted again), which coalescing
            // an object's moves into its latest would hide: under such a policy every move is applied at once.
            recordAndApply(o, p);
            return;
        }
        long prev = o.publishMove(move(p));
        if ((prev & QUEUED) == 0 && !buffer.offer(o)) {
            drainWith(o);
        }
    }

    /**
     * Records a move and applies it before returning (with every buffered one), waiting for the LRU lock. Resv held.
     *
     * @param o the object
     * @param p its stage now, or null for off every list (freed)
     */
    void recordAndApply(ShmemObject o, ReclaimStage p) {
        o.publishMove(move(p));
        drainWith(o);
    }

    private long move(ReclaimStage p) {
        return clock.getAndIncrement(CLOCK) << STAMP_SHIFT | (p == null ? 0 : p.index() + 1L) << STAGE_SHIFT | QUEUED;
    }

    /** Applies every buffered move and {@code own}'s, under the LRU lock: try-locked first, else waited for. */
    private void drainWith(ShmemObject own) {
        if (!lock.tryLock()) {
            lock.lock();
        }
        try {
            drainLocked(own);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Applies the buffered moves if there are any and the LRU lock is free (or held by the calling thread); never
     * waits.
     *
     * @return false when moves stay buffered because another thread holds the lock
     */
    boolean tryDrain() {
        if (buffer.isEmpty()) {
            return true;
        }
        if (lock.isHeldByCurrentThread()) {
            drainLocked(null);
            return true;
        }
        if (!lock.tryLock()) {
            return false;
        }
        try {
            drainLocked(null);
        } finally {
            lock.unlock();
        }
        return true;
    }

    /** Applies the buffered moves, waiting for the LRU lock if another thread holds it. */
    void drain() {
        if (buffer.isEmpty()) {
            return;
        }
        lock.lock();
        try {
            drainLocked(null);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns whether moves are buffered (lock-free, may be a moment stale).
     *
     * @return true when a drain would find something
     */
    boolean pending() {
        return !buffer.isEmpty();
    }

    /** The drain itself; {@code own} (or null) is an object whose move is not in the buffer. LRU lock held. */
    void drainLocked(ShmemObject own) {
        int n = buffer.drainTo(batch, 0);
        if (own != null) {
            batch[n++] = own;
        }
        int k = 0;
        for (int i = 0; i < n; i++) {
            long m = batch[i].takeMove();
            if ((m & QUEUED) != 0) { // else applied already (listed twice, or by a drain that had it as its own)
                moves[i] = m;
                keys[k++] = (m >>> STAMP_SHIFT) << INDEX_BITS | i;
            }
        }
        Arrays.sort(keys, 0, k);
        for (int j = 0; j < k; j++) {
            int i = (int) (keys[j] & ((1 << INDEX_BITS) - 1));
            ShmemObject o = batch[i];
            ReclaimStage p = stage(moves[i]);
            device.place(o, p, p == null ? 0 : o.weightOn(p.placement()));
        }
        Arrays.fill(batch, 0, n, null);
    }
}
