package dev.gemshrink.testing;

import dev.gemshrink.sim.AccessTrace;
import java.util.LinkedHashMap;
import java.util.Map;

/** An exact LRU cache of equal-size objects, a {@link LinkedHashMap} in access order: the oracle for trace replay. */
public final class LruOracle {
    private LruOracle() {
    }

    /**
     * Counts the misses of an LRU cache of {@code capacity} objects over a trace (sizes ignored).
     *
     * @param trace    the requests
     * @param capacity how many objects the cache holds
     * @return the misses
     */
    public static long misses(AccessTrace trace, int capacity) {
        Map<Long, Boolean> cache = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > capacity;
            }
        };
        long misses = 0;
        for (int i = 0; i < trace.requests(); i++) {
            if (cache.get(trace.id(i)) == null) {
                misses++;
                cache.put(trace.id(i), Boolean.TRUE);
            }
        }
        return misses;
    }
}
