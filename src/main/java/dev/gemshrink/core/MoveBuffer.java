package dev.gemshrink.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A bounded, lock-free buffer of objects whose LRU placement changed, striped by thread (after Caffeine's read
 * buffer): many threads offer, one thread at a time (the holder of the device's LRU lock) drains. Each stripe is a
 * ring of {@link #RING_SIZE} slots with its own write counter (claimed by compare-and-set) and read counter (moved
 * by the drain), each on a cache line of its own, so threads on different stripes share no written memory.
 *
 * <p>An offer never waits: it fails when its stripe is full, and the caller then drains (see {@link LruMoves}).
 * Lossless otherwise: every offered element is returned by some later drain, in its stripe's order.
 *
 * <p>Memory ordering: a writer claims slot {@code t} by CAS on the write counter and then publishes the element with
 * a release store; the drain reads a slot with an acquire load and stops at the first slot still empty (claimed,
 * not yet published), leaving it and what follows for the next drain; it clears each slot it took before it moves
 * the read counter with a release store, so a writer that sees room finds its slot empty.
 */
final class MoveBuffer {
    /** Slots per stripe (a power of two). */
    static final int RING_SIZE = 32;
    private static final int MAX_STRIPES = 64;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(ShmemObject[].class);
    // Indexes into a stripe's counter array: 8 longs (64 bytes) apart and from the array's ends.
    private static final int TAIL = 8;
    private static final int HEAD = 24;
    private static final int COUNTERS = 33;

    private final AtomicLongArray[] counters; // per stripe: TAIL written by writers (CAS), HEAD by the drain
    private final ShmemObject[][] slots;
    private final int mask;

    /** Creates a buffer with two stripes per processor (a power of two, at most 64). */
    MoveBuffer() {
        this(Math.min(MAX_STRIPES, Integer.highestOneBit(Math.max(1, 2 * Runtime.getRuntime().availableProcessors()
                - 1) * 2)));
    }

    /**
     * Creates a buffer.
     *
     * @param stripes the number of stripes, a power of two
     */
    MoveBuffer(int stripes) {
        if (Integer.bitCount(stripes) != 1) {
            throw new IllegalArgumentException("stripes must be a power of two: " + stripes);
        }
        counters = new AtomicLongArray[stripes];
        slots = new ShmemObject[stripes][];
        for (int i = 0; i < stripes; i++) {
            counters[i] = new AtomicLongArray(COUNTERS);
            slots[i] = new ShmemObject[RING_SIZE];
        }
        mask = stripes - 1;
    }

    /**
     * Returns how many elements the buffer can hold.
     *
     * @return stripes times {@link #RING_SIZE}
     */
    int capacity() {
        return slots.length * RING_SIZE;
    }

    /**
     * Adds an element to the calling thread's stripe.
     *
     * @param o the object
     * @return false when that stripe is full (nothing was added)
     */
    boolean offer(ShmemObject o) {
        int s = stripe();
        AtomicLongArray c = counters[s];
        while (true) {
            long t = c.get(TAIL);
            if (t - c.get(HEAD) >= RING_SIZE) {
                return false;
            }
            if (c.compareAndSet(TAIL, t, t + 1)) {
                SLOT.setRelease(slots[s], (int) t & (RING_SIZE - 1), o);
                return true;
            }
        }
    }

    /**
     * Moves every published element into {@code out}, stripe by stripe. The caller must be the only drainer (it holds
     * the device's LRU lock).
     *
     * @param out  where to put them; room for {@link #capacity()} elements from {@code from}
     * @param from the first index of {@code out} to fill
     * @return the index after the last element put
     */
    int drainTo(ShmemObject[] out, int from) {
        int n = from;
        for (int s = 0; s < slots.length; s++) {
            AtomicLongArray c = counters[s];
            ShmemObject[] ring = slots[s];
            long h = c.get(HEAD);
            long t = c.get(TAIL);
            while (h < t) {
                int i = (int) h & (RING_SIZE - 1);
                ShmemObject o = (ShmemObject) SLOT.getAcquire(ring, i);
                if (o == null) {
                    break; // claimed but not yet published: the next drain takes it
                }
                ring[i] = null;
                out[n++] = o;
                h++;
            }
            c.lazySet(HEAD, h);
        }
        return n;
    }

    /**
     * Returns whether no element is buffered (lock-free, may be a moment stale).
     *
     * @return true when every stripe is empty
     */
    boolean isEmpty() {
        for (AtomicLongArray c : counters) {
            if (c.get(TAIL) != c.get(HEAD)) {
                return false;
            }
        }
        return true;
    }

    /** The calling thread's stripe: its identity hash, mixed (a thread keeps its stripe). */
    private int stripe() {
        int h = System.identityHashCode(Thread.currentThread()) * 0x9E3779B9;
        return (h ^ (h >>> 16)) & mask;
    }
}
