package dev.gemshrink.sim;

import dev.gemshrink.memory.PagePool;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A trace of object accesses: one request per line, each naming an object by a decimal id and giving its size in
 * pages, in the order the requests were made. {@link AccessTraceReplay} replays it against a device.
 *
 * <p>Text form ({@link #parse}): either one id per line (a decimal integer, 0 to 2^63-1; each object is 1 page), or
 * CSV whose first line is a header naming an {@code id} column and optionally a {@code size} column (bytes, at
 * least 1; the object has {@code ceil(size / 4096)} pages); other columns are ignored, fields are separated by
 * commas without quoting, and each row has as many fields as the header. The first non-blank line is a header when
 * it contains a letter. Blank lines are ignored, surrounding spaces and tabs too, and a leading byte-order mark.
 */
public final class AccessTrace {
    private static final char BOM = '\uFEFF';
    private static final long MAX_PAGES = Integer.MAX_VALUE;

    private final long[] ids;
    private final int[] pages;

    private AccessTrace(long[] ids, int[] pages) {
        this.ids = ids;
        this.pages = pages;
    }

    /**
     * Returns a trace of 1-page objects.
     *
     * @param ids the ids requested, in order
     * @return the trace
     */
    public static AccessTrace ofIds(long... ids) {
        int[] p = new int[ids.length];
        Arrays.fill(p, 1);
        return new AccessTrace(ids.clone(), p);
    }

    /**
     * Parses a whole trace. Every syntax error is counted and the first {@value TraceSyntaxException#MAX_ERRORS}
     * are kept as {@code line N: <reason>}; a CSV header without an {@code id} column ends the parse at once (no
     * row could be read).
     *
     * @param in the text; read to its end, not closed
     * @return the trace, possibly without requests
     * @throws IOException          when reading fails
     * @throws TraceSyntaxException when any line has a syntax error
     */
    public static AccessTrace parse(Reader in) throws IOException, TraceSyntaxException {
        BufferedReader r = in instanceof BufferedReader b ? b : new BufferedReader(Objects.requireNonNull(in, "in"));
        Builder out = new Builder();
        Columns columns = null;
        List<String> errors = new ArrayList<>();
        long errorCount = 0;
        int lineNo = 0;
        for (String raw = r.readLine(); raw != null; raw = r.readLine()) {
            lineNo++;
            if (lineNo == 1 && !raw.isEmpty() && raw.charAt(0) == BOM) {
                raw = raw.substring(1);
            }
            String line = raw.strip();
            if (line.isEmpty()) {
                continue;
            }
            try {
                if (columns == null) {
                    columns = Columns.of(line);
                    if (columns.csv()) {
                        continue;
                    }
                }
                columns.parse(line, out);
            } catch (Bad e) {
                if (errorCount++ < TraceSyntaxException.MAX_ERRORS) {
                    errors.add("line " + lineNo + ": " + e.getMessage());
                }
                if (columns == null) {
                    break;
                }
            }
        }
        if (errorCount > 0) {
            throw new TraceSyntaxException(errors, errorCount);
        }
        return out.build();
    }

    /**
     * Returns the number of requests.
     *
     * @return the trace's length
     */
    public int requests() {
        return ids.length;
    }

    /**
     * Returns the id of one request.
     *
     * @param i the request's index, from 0
     * @return the object's id
     */
    public long id(int i) {
        return ids[i];
    }

    /**
     * Returns the size in pages of one request's object.
     *
     * @param i the request's index, from 0
     * @return at least 1
     */
    public int pages(int i) {
        return pages[i];
    }

    /** A syntax error in one line. */
    private static final class Bad extends Exception {
        private static final long serialVersionUID = 1L;

        Bad(String reason) {
            super(reason, null, false, false);
        }
    }

    /**
     * Where a row's fields are: {@code fields == 0} for a plain list of ids, else the header's field count and the
     * index of the id and size columns ({@code size < 0}: none).
     */
    private record Columns(int fields, int id, int size) {
        static Columns of(String first) throws Bad {
            if (first.chars().noneMatch(Character::isLetter)) {
                return new Columns(0, 0, -1);
            }
            String[] h = first.split(",", -1);
            int id = -1;
            int size = -1;
            for (int i = 0; i < h.length; i++) {
                String name = h[i].strip();
                if (name.equals("id") || name.equals("size")) {
                    if ((name.equals("id") ? id : size) >= 0) {
                        throw new Bad("header names column '" + name + "' twice");
                    }
                    if (name.equals("id")) {
                        id = i;
                    } else {
                        size = i;
                    }
                }
            }
            if (id < 0) {
                throw new Bad("neither an id nor a CSV header with an id column: '" + first + "'");
            }
            return new Columns(h.length, id, size);
        }

        boolean csv() {
            return fields > 0;
        }

        void parse(String line, Builder out) throws Bad {
            if (!csv()) {
                out.add(id(line), 1);
                return;
            }
            String[] f = line.split(",", -1);
            if (f.length != fields) {
                throw new Bad("expected " + fields + (fields == 1 ? " field" : " fields") + ", found " + f.length);
            }
            long objectId = id(f[id].strip());
            out.add(objectId, size < 0 ? 1 : pages(f[size].strip()));
        }

        private static long id(String s) throws Bad {
            Long v = decimal(s);
            if (v == null) {
                throw new Bad("bad id '" + s + "' (a decimal integer 0 to " + Long.MAX_VALUE + ")");
            }
            return v;
        }

        private static int pages(String s) throws Bad {
            Long bytes = decimal(s);
            if (bytes == null || bytes == 0) {
                throw new Bad("bad size '" + s + "' (bytes, a decimal integer 1 to " + Long.MAX_VALUE + ")");
            }
            long p = (bytes - 1) / PagePool.PAGE_SIZE + 1;
            if (p > MAX_PAGES) {
                throw new Bad("size " + s + " is more than " + MAX_PAGES + " pages");
            }
            return (int) p;
        }

        /** A non-negative decimal integer that fits a long, or null. */
        private static Long decimal(String s) {
            if (s.isEmpty() || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException tooLarge) {
                return null;
            }
        }
    }

    /** Growable arrays of requests. */
    private static final class Builder {
        private long[] ids = new long[1024];
        private int[] pages = new int[1024];
        private int n;

        void add(long id, int p) {
            if (n == ids.length) {
                ids = Arrays.copyOf(ids, n * 2);
                pages = Arrays.copyOf(pages, n * 2);
            }
            ids[n] = id;
            pages[n] = p;
            n++;
        }

        AccessTrace build() {
            return new AccessTrace(Arrays.copyOf(ids, n), Arrays.copyOf(pages, n));
        }
    }
}
