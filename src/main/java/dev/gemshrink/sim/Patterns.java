package dev.gemshrink.sim;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The byte patterns simulated workloads write and verify: every byte is a function of a stamp and its offset in the
 * BO, so any lost, stale or misplaced page is caught when the bytes are read back. Bytes come eight at a time from
 * one 64-bit word per aligned 8-byte group (little-endian), so filling and checking cost little.
 */
final class Patterns {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);

    private Patterns() {
    }

    /** The word holding the bytes {@code [8 * group, 8 * group + 8)} of a BO written with {@code stamp}. */
    private static long word(long stamp, long group) {
        long x = (stamp + 1) * 0x9E3779B97F4A7C15L ^ group * 0xBF58476D1CE4E5B9L;
        return x ^ (x >>> 29);
    }

    /**
     * Returns the byte a BO written with {@code stamp} holds at {@code pos}.
     *
     * @param stamp the BO's current stamp
     * @param pos   the byte offset in the BO
     * @return the byte
     */
    static byte at(long stamp, long pos) {
        return (byte) (word(stamp, pos >>> 3) >>> ((pos & 7) << 3));
    }

    /**
     * Fills {@code buf} with the pattern of {@code stamp} starting at BO offset {@code pos}.
     *
     * @param buf   the buffer
     * @param stamp the stamp
     * @param pos   the BO offset of {@code buf[0]}
     * @return {@code buf}
     */
    static byte[] fill(byte[] buf, long stamp, long pos) {
        int i = 0;
        for (; i < buf.length && ((pos + i) & 7) != 0; i++) {
            buf[i] = at(stamp, pos + i);
        }
        for (; i + 8 <= buf.length; i += 8) {
            LONGS.set(buf, i, word(stamp, (pos + i) >>> 3));
        }
        for (; i < buf.length; i++) {
            buf[i] = at(stamp, pos + i);
        }
        return buf;
    }

    /**
     * Finds the first byte of {@code buf} that differs from the pattern.
     *
     * @param buf   bytes read from BO offset {@code pos}
     * @param stamp the stamp they should have been written with
     * @param pos   the BO offset of {@code buf[0]}
     * @return the index of the first wrong byte in {@code buf}, or -1 when all match
     */
    static int mismatch(byte[] buf, long stamp, long pos) {
        int i = 0;
        for (; i < buf.length && ((pos + i) & 7) != 0; i++) {
            if (buf[i] != at(stamp, pos + i)) {
                return i;
            }
        }
        for (; i + 8 <= buf.length; i += 8) {
            if ((long) LONGS.get(buf, i) != word(stamp, (pos + i) >>> 3)) {
                break; // the byte loop below finds which one
            }
        }
        for (; i < buf.length; i++) {
            if (buf[i] != at(stamp, pos + i)) {
                return i;
            }
        }
        return -1;
    }
}
