package dev.gemshrink.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The number syntax shared by traces and options: SIZE is a decimal byte count with an optional suffix K, KiB, M,
 * MiB, G or GiB (powers of 1024), or a {@code 0x} hexadecimal count without suffix; BYTE is 0..255 in decimal or
 * {@code 0x} hex; a COUNT is a plain decimal number.
 */
final class Sizes {
    private static final Pattern SIZE = Pattern.compile("([0-9]+)(K|KiB|M|MiB|G|GiB)?");
    private static final Pattern HEX = Pattern.compile("0x([0-9a-fA-F]+)");
    private static final Pattern DECIMAL = Pattern.compile("[0-9]+");

    private Sizes() {
    }

    /**
     * Parses a SIZE.
     *
     * @param s the text
     * @return the byte count
     * @throws NumberFormatException when it is not a SIZE or does not fit in a long
     */
    static long parseSize(String s) {
        Matcher h = HEX.matcher(s);
        if (h.matches()) {
            return parseHex(s, h.group(1));
        }
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            throw new NumberFormatException("bad size '" + s + "' (want a byte count like 4096, 64K, 1MiB or 0x1000)");
        }
        long n = parseDecimal(s, m.group(1));
        int shift = 0;
        if (m.group(2) != null) {
            switch (m.group(2)) {
                case "K":
                case "KiB":
                    shift = 10;
                    break;
                case "M":
                case "MiB":
                    shift = 20;
                    break;
                default:
                    shift = 30;
                    break;
            }
        }
        if (shift > 0 && n > (Long.MAX_VALUE >> shift)) {
            throw new NumberFormatException("size '" + s + "' is too large");
        }
        return n << shift;
    }

    /**
     * Parses a BYTE.
     *
     * @param s the text
     * @return 0..255
     * @throws NumberFormatException when it is not a byte value
     */
    static int parseByte(String s) {
        long v;
        Matcher h = HEX.matcher(s);
        if (h.matches()) {
            v = parseHex(s, h.group(1));
        } else if (DECIMAL.matcher(s).matches()) {
            v = parseDecimal(s, s);
        } else {
            throw new NumberFormatException("bad byte '" + s + "' (want 0..255 or 0x00..0xff)");
        }
        if (v > 255) {
            throw new NumberFormatException("byte '" + s + "' is out of range 0..255");
        }
        return (int) v;
    }

    /**
     * Parses a COUNT (a plain non-negative decimal number).
     *
     * @param s the text
     * @return the number
     * @throws NumberFormatException when it is not a count
     */
    static long parseCount(String s) {
        if (!DECIMAL.matcher(s).matches()) {
            throw new NumberFormatException("bad number '" + s + "' (want a decimal count)");
        }
        return parseDecimal(s, s);
    }

    /**
     * Formats a byte count with the largest exact binary suffix (for messages).
     *
     * @param bytes the count
     * @return for example {@code 64MiB} or {@code 12345}
     */
    static String format(long bytes) {
        if (bytes > 0 && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + "GiB";
        }
        if (bytes > 0 && bytes % (1L << 20) == 0) {
            return (bytes >> 20) + "MiB";
        }
        if (bytes > 0 && bytes % (1L << 10) == 0) {
            return (bytes >> 10) + "KiB";
        }
        return Long.toString(bytes);
    }

    private static long parseDecimal(String whole, String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new NumberFormatException("number '" + whole + "' is too large");
        }
    }

    private static long parseHex(String whole, String digits) {
        try {
            return Long.parseLong(digits.toLowerCase(Locale.ROOT), 16);
        } catch (NumberFormatException e) {
            throw new NumberFormatException("number '" + whole + "' is too large");
        }
    }
}
