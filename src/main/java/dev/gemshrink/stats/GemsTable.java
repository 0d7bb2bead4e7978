package dev.gemshrink.stats;

import dev.gemshrink.memory.PagePool;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A device's table of buffer objects, like a driver's debugfs {@code gems} file: one {@link Row} per object and a
 * footer with the total size, the bytes reclaimable now and the pages the device's shrinker reclaimed in its last
 * scan. The footer's totals are computed from the rows.
 *
 * @param rows             one per object
 * @param lastScanReclaimed pages the device's shrinker freed in its most recent scan call (0 before any)
 */
public record GemsTable(List<Row> rows, long lastScanReclaimed) {
    private static final String[] HEADER = {"name", "client", "size", "flags", "madv", "state", "resident", "swapped",
        "pins", "vmaps", "mappings", "reclaimed"};

    /**
     * Copies the rows.
     *
     * @param rows see the record component
     * @param lastScanReclaimed see the record component
     */
    public GemsTable {
        rows = List.copyOf(rows);
        if (lastScanReclaimed < 0) {
            throw new IllegalArgumentException("negative last scan: " + lastScanReclaimed);
        }
    }

    /**
     * One buffer object.
     *
     * @param name           the object's name
     * @param client         the client that created it
     * @param size           its size in bytes
     * @param flags          its creation flags as lowercase words joined by {@code |}, or {@code -} for none
     * @param madv           its madvise state: {@code willneed}, {@code dontneed} or {@code purged}
     * @param state          where its contents are
     * @param residentPages  pages in RAM
     * @param swappedPages   pages in swap
     * @param pins           pins (the kernel's {@code pages_pin_count})
     * @param vmaps          CPU mappings ({@code vmap_use_count})
     * @param mappings       GPU mappings, one per client holding a handle to it
     * @param timesReclaimed purges and evictions so far (a saturating counter: it stops at its maximum)
     * @param reclaimable    whether the shrinker could reclaim it now: idle, unpinned, and purgeable, or evictable
     *                       with a swap store to evict to
     */
    public record Row(String name, String client, long size, String flags, String madv, BoState state,
            int residentPages, int swappedPages, int pins, int vmaps, int mappings, int timesReclaimed,
            boolean reclaimable) {
        /**
         * Checks the components.
         *
         * @param name see the record component
         * @param client see the record component
         * @param size see the record component
         * @param flags see the record component
         * @param madv see the record component
         * @param state see the record component
         * @param residentPages see the record component
         * @param swappedPages see the record component
         * @param pins see the record component
         * @param vmaps see the record component
         * @param mappings see the record component
         * @param timesReclaimed see the record component
         * @param reclaimable see the record component
         */
        public Row {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(client, "client");
            Objects.requireNonNull(flags, "flags");
            Objects.requireNonNull(madv, "madv");
            Objects.requireNonNull(state, "state");
            if (size < 0 || residentPages < 0 || swappedPages < 0 || pins < 0 || vmaps < 0 || mappings < 0
                    || timesReclaimed < 0) {
                throw new IllegalArgumentException("negative value in the row of " + name);
            }
        }

        /**
         * Returns the row's values in the order of the printed table's columns.
         *
         * @return the cells
         */
        List<String> cells() {
            return List.of(name, client, Long.toString(size), flags, madv, state.label(),
                    Integer.toString(residentPages), Integer.toString(swappedPages), Integer.toString(pins),
                    Integer.toString(vmaps), Integer.toString(mappings), Integer.toString(timesReclaimed));
        }
    }

    /**
     * Returns the total size of the objects.
     *
     * @return bytes
     */
    public long totalBytes() {
        long n = 0;
        for (Row r : rows) {
            n += r.size();
        }
        return n;
    }

    /**
     * Returns the resident bytes of the objects the shrinker could reclaim now.
     *
     * @return bytes
     */
    public long reclaimableBytes() {
        long n = 0;
        for (Row r : rows) {
            if (r.reclaimable()) {
                n += (long) r.residentPages() * PagePool.PAGE_SIZE;
            }
        }
        return n;
    }

    /**
     * Prints the table: a header line, one line per row with the columns left-aligned, then the footer lines
     * {@code total: B bytes}, {@code total reclaimable: B bytes} and {@code reclaimed by the last scan: N pages}.
     *
     * @return the text, every line ending in a newline
     */
    public String text() {
        List<List<String>> lines = new ArrayList<>();
        lines.add(List.of(HEADER));
        for (Row r : rows) {
            lines.add(r.cells());
        }
        int[] width = new int[HEADER.length];
        for (List<String> l : lines) {
            for (int i = 0; i < width.length; i++) {
                width[i] = Math.max(width[i], l.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (List<String> l : lines) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < width.length; i++) {
                line.append(String.format(Locale.ROOT, "%-" + width[i] + "s", l.get(i)));
                if (i < width.length - 1) {
                    line.append("  ");
                }
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        sb.append("total: ").append(totalBytes()).append(" bytes\n");
        sb.append("total reclaimable: ").append(reclaimableBytes()).append(" bytes\n");
        sb.append("reclaimed by the last scan: ").append(lastScanReclaimed).append(" pages\n");
        return sb.toString();
    }
}
