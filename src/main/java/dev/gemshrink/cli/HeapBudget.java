package dev.gemshrink.cli;

/**
 * Whether a RAM budget (and an in-memory swap store, which lives in the Java heap too) fits in the JVM's heap. The
 * page frames are heap arrays, so a budget the heap cannot hold would stall in garbage collection and then die with
 * {@link OutOfMemoryError}; the command line refuses it before the run instead.
 */
final class HeapBudget {
    /** Heap kept free for everything that is not a page: at least 64 MiB, or an eighth of the heap. */
    static long headroom(long maxHeap) {
        return Math.max(64L << 20, maxHeap / 8);
    }

    private HeapBudget() {
    }

    /**
     * Checks a budget against a maximum heap size.
     *
     * @param ramBytes        the RAM budget in bytes
     * @param inMemorySwap    the bytes of swap kept in the heap (0 for a swap file)
     * @param maxHeap         the JVM's maximum heap ({@link Runtime#maxMemory()})
     * @param what            how the budget was given, for the message (for example {@code --ram 2GiB})
     * @return null when it fits, else a one-line message naming {@code -Xmx}
     */
    static String check(long ramBytes, long inMemorySwap, long maxHeap, String what) {
        long needed = ramBytes + inMemorySwap;
        long allowed = maxHeap - headroom(maxHeap);
        if (needed <= allowed) {
            return null;
        }
        return what + (inMemorySwap > 0 ? " with " + mib(inMemorySwap) + " of in-memory swap" : "")
                + " needs " + mib(needed) + " of heap but the JVM heap holds at most " + mib(maxHeap) + " (with "
                + mib(headroom(maxHeap)) + " kept free); run java with a larger -Xmx, e.g. -Xmx"
                + ((needed + headroom(needed) + (1L << 30) - 1) >> 30) + "g";
    }

    private static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }
}
