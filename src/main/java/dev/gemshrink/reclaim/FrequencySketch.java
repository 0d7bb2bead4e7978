package dev.gemshrink.reclaim;

/**
 * A count-min sketch of 4-bit counters estimating how often each key was seen (TinyLFU's, after Einziger, Friedman
 * and Manes): four rows of {@code width} counters packed sixteen to a long; a key's frequency is the least of its
 * four counters (0..15). After {@code 10 * width} additions every counter is halved, so old popularity fades.
 *
 * <p>Memory: {@code width / 2} bytes per row, 2 bytes per counter column. Not thread-safe (guarded by the LRU lock).
 */
final class FrequencySketch {
    static final int ROWS = 4;
    private static final long[] SEEDS = {0xc3a5c85c97cb3127L, 0xb492b66fbe98f273L, 0x9ae16a3b2f90404fL,
        0xcbf29ce484222325L};
    private static final long HALF_MASK = 0x7777_7777_7777_7777L;

    private final long[] table;
    private final int width;
    private final int sampleSize;
    private int additions;

    /**
     * Creates a sketch.
     *
     * @param width counters per row, a power of two
     */
    FrequencySketch(int width) {
        if (Integer.bitCount(width) != 1 || width < 16) {
            throw new IllegalArgumentException("width must be a power of two >= 16, not " + width);
        }
        this.width = width;
        this.table = new long[ROWS * width / 16];
        this.sampleSize = 10 * width;
    }

    /** A width for a cache of about {@code entries} objects: the power of two at or above it, 16 to 2^22. */
    static int widthFor(int entries) {
        int n = Math.max(16, Math.min(entries, 1 << 22));
        return Integer.highestOneBit(n - 1) << 1;
    }

    /** The counter index of a key in a row. */
    static int index(long key, int row, int width) {
        long h = (key + SEEDS[row]) * 0x9E3779B97F4A7C15L;
        h ^= h >>> 29;
        return (int) h & (width - 1);
    }

    /** The estimated frequency of a key, 0..15. */
    int frequency(long key) {
        int f = 15;
        for (int r = 0; r < ROWS; r++) {
            f = Math.min(f, counter(r * width + index(key, r, width)));
        }
        return f;
    }

    /** Counts one occurrence of a key; every {@code 10 * width} additions all counters are halved. */
    void increment(long key) {
        for (int r = 0; r < ROWS; r++) {
            int slot = r * width + index(key, r, width);
            if (counter(slot) < 15) {
                table[slot >>> 4] += 1L << ((slot & 15) << 2);
            }
        }
        if (++additions >= sampleSize) {
            for (int i = 0; i < table.length; i++) {
                table[i] = (table[i] >>> 1) & HALF_MASK;
            }
            additions /= 2;
        }
    }

    private int counter(int slot) {
        return (int) (table[slot >>> 4] >>> ((slot & 15) << 2)) & 0xf;
    }
}
