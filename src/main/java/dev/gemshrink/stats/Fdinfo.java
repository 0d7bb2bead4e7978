package dev.gemshrink.stats;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One client's fdinfo memory statistics: the standard DRM keys for one memory region, over the buffer objects the
 * client holds a handle to, with the kernel's rules for counting them (see {@link Builder#add}). All values are
 * bytes.
 *
 * <p>{@link #text()} prints them exactly as the kernel's fdinfo does: {@code drm-driver}, {@code drm-client-id}, then
 * for the region {@code drm-total-}, {@code drm-shared-}, {@code drm-active-}, {@code drm-resident-} and
 * {@code drm-purgeable-<region>} in that (the kernel's) order, each value in the largest of bytes, KiB or MiB that
 * divides it exactly. {@code drm-evicted-<region>} (bytes whose contents are in swap) comes last: it is a proposed key,
 * not (yet) part of the standard, which tools that do not know it ignore.
 *
 * @param driver    the driver's name ({@code drm-driver})
 * @param clientId  the client's id, unique per device ({@code drm-client-id})
 * @param region    the memory region's name; {@code memory} is system RAM
 * @param total     sizes of all objects: shared + private
 * @param shared    sizes of the objects shared with another client or device
 * @param resident  bytes with backing store present (a heap object counts its populated pages)
 * @param purgeable resident bytes of objects that are DONTNEED and idle
 * @param active    resident bytes of objects with unsignalled fences (busy on the GPU)
 * @param evicted   bytes whose contents are in swap (proposed key)
 */
public record Fdinfo(String driver, long clientId, String region, long total, long shared, long resident,
        long purgeable, long active, long evicted) {

    /** The region name of system RAM. */
    public static final String SYSTEM_MEMORY = "memory";

    /**
     * Checks the components.
     *
     * @param driver see the record component
     * @param clientId see the record component
     * @param region see the record component
     * @param total see the record component
     * @param shared see the record component
     * @param resident see the record component
     * @param purgeable see the record component
     * @param active see the record component
     * @param evicted see the record component
     * @throws IllegalArgumentException for a negative value or shared above total
     */
    public Fdinfo {
        Objects.requireNonNull(driver, "driver");
        Objects.requireNonNull(region, "region");
        if (clientId < 0 || total < 0 || shared < 0 || resident < 0 || purgeable < 0 || active < 0 || evicted < 0
                || shared > total) {
            throw new IllegalArgumentException("inconsistent fdinfo values for client " + clientId);
        }
    }

    /**
     * Starts collecting one client's statistics.
     *
     * @param driver   the driver's name
     * @param clientId the client's id
     * @return a builder for the system memory region
     */
    public static Builder builder(String driver, long clientId) {
        return new Builder(driver, clientId);
    }

    /**
     * Returns the memory keys with their values in bytes, in the kernel's order, then the proposed
     * {@code drm-evicted-<region>}.
     *
     * @return key to bytes, for example {@code drm-total-memory -> 1048576}
     */
    public Map<String, Long> memoryKeys() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("drm-total-" + region, total);
        m.put("drm-shared-" + region, shared);
        m.put("drm-active-" + region, active);
        m.put("drm-resident-" + region, resident);
        m.put("drm-purgeable-" + region, purgeable);
        m.put("drm-evicted-" + region, evicted);
        return m;
    }

    /**
     * Returns the fdinfo text, one {@code key:\tvalue} line each, every line ending in a newline.
     *
     * @return for example {@code drm-driver:\tpanfrost\ndrm-client-id:\t1\ndrm-total-memory:\t4 KiB\n...}
     */
    public String text() {
        StringBuilder sb = new StringBuilder();
        sb.append("drm-driver:\t").append(driver).append('\n');
        sb.append("drm-client-id:\t").append(clientId).append('\n');
        for (Map.Entry<String, Long> e : memoryKeys().entrySet()) {
            sb.append(e.getKey()).append(":\t").append(formatSize(e.getValue())).append('\n');
        }
        return sb.toString();
    }

    /**
     * Formats a byte count as the kernel's fdinfo does: divided by 1024 while it is a nonzero multiple of 1024,
     * at most up to MiB, with the unit after a space (none for bytes).
     *
     * @param bytes a byte count, at least 0
     * @return for example {@code 0}, {@code 1000}, {@code 4 KiB}, {@code 2 MiB}, {@code 3072 MiB}
     */
    public static String formatSize(long bytes) {
        String[] units = {"", " KiB", " MiB"};
        long v = bytes;
        int u = 0;
        while (u < units.length - 1 && v != 0 && (v & 1023) == 0) {
            v >>>= 10;
            u++;
        }
        return v + units[u];
    }

    /**
     * Collects the statistics of one client's objects with the kernel's rules. Not thread-safe: one caller fills
     * it, object by object.
     */
    public static final class Builder {
        private final String driver;
        private final long clientId;
        private long total;
        private long shared;
        private long resident;
        private long purgeable;
        private long active;
        private long evicted;

        private Builder(String driver, long clientId) {
            this.driver = driver;
            this.clientId = clientId;
        }

        /**
         * Counts one object the client holds a handle to. Its size goes to the total, and to shared when it is
         * shared; its resident bytes count as resident, as active when it is busy, and as purgeable when it is
         * resident, DONTNEED and not busy (a busy object cannot be purged yet); its swapped bytes count as evicted.
         *
         * @param size          the object's size
         * @param isShared      whether another client holds a handle to it, or it is exported to another device
         * @param residentBytes bytes of it in RAM now
         * @param dontneed      whether its madvise state is DONTNEED
         * @param busy          whether it has unsignalled fences
         * @param swappedBytes  bytes of it in swap now
         * @return this builder
         */
        public Builder add(long size, boolean isShared, long residentBytes, boolean dontneed, boolean busy,
                long swappedBytes) {
            total += size;
            if (isShared) {
                shared += size;
            }
            resident += residentBytes;
            if (busy) {
                active += residentBytes;
            } else if (dontneed && residentBytes > 0) {
                purgeable += residentBytes;
            }
            evicted += swappedBytes;
            return this;
        }

        /**
         * Returns the statistics collected so far, for the system memory region.
         *
         * @return the fdinfo
         */
        public Fdinfo build() {
            return new Fdinfo(driver, clientId, SYSTEM_MEMORY, total, shared, resident, purgeable, active, evicted);
        }
    }
}
