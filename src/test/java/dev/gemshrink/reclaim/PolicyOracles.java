package dev.gemshrink.reclaim;

import dev.gemshrink.sim.AccessTrace;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongUnaryOperator;

/**
 * Simple reference caches of equal-size objects, one per built-in policy other than LRU (see
 * {@code testing.LruOracle} for that one), written from the policies' descriptions with plain collections and
 * nothing of the library but the sketch's hash: the oracles the replays on a device are checked against. Each miss
 * on a full cache first picks a victim, then inserts, as a device's allocation reclaims before the new object is
 * placed.
 */
final class PolicyOracles {
    private PolicyOracles() {
    }

    /** SIEVE: a queue (oldest first) as an array list, a visited set, a hand index. */
    static long sieveMisses(AccessTrace trace, int capacity) {
        List<Long> queue = new ArrayList<>();
        Map<Long, Boolean> visited = new HashMap<>();
        int hand = 0;
        long misses = 0;
        for (int i = 0; i < trace.requests(); i++) {
            long id = trace.id(i);
            if (visited.containsKey(id)) {
                visited.put(id, true);
                continue;
            }
            misses++;
            if (queue.size() == capacity) {
                while (true) {
                    if (hand >= queue.size()) {
                        hand = 0;
                    }
                    long x = queue.get(hand);
                    if (visited.get(x)) {
                        visited.put(x, false);
                        hand++;
                    } else {
                        queue.remove(hand);
                        visited.remove(x);
                        if (hand == queue.size()) {
                            hand = 0; // past the newest: the next round starts at the oldest
                        }
                        break;
                    }
                }
            }
            queue.add(id);
            visited.put(id, false);
        }
        return misses;
    }

    /** S3-FIFO: two deques, a frequency map, an insertion-ordered ghost set of ids. */
    static long s3fifoMisses(AccessTrace trace, int capacity) {
        ArrayDeque<Long> small = new ArrayDeque<>();
        ArrayDeque<Long> main = new ArrayDeque<>();
        Map<Long, Integer> freq = new HashMap<>();
        LinkedHashSet<Long> ghost = new LinkedHashSet<>();
        long misses = 0;
        for (int i = 0; i < trace.requests(); i++) {
            long id = trace.id(i);
            Integer f = freq.get(id);
            if (f != null) {
                freq.put(id, Math.min(3, f + 1));
                continue;
            }
            misses++;
            if (freq.size() == capacity) {
                Long victim = null;
                if (small.size() * 10 >= freq.size()) {
                    victim = s3fifoFromSmall(small, main, freq);
                }
                boolean fromSmall = victim != null;
                if (victim == null) {
                    victim = s3fifoFromMain(main, freq);
                }
                if (victim == null) {
                    victim = s3fifoFromSmall(small, main, freq);
                    fromSmall = true;
                }
                freq.remove(victim);
                if (fromSmall) {
                    ghost.add(victim);
                    int limit = Math.max(1, freq.size() * 9 / 10);
                    for (Iterator<Long> it = ghost.iterator(); ghost.size() > limit; ) {
                        it.next();
                        it.remove();
                    }
                }
            }
            (ghost.remove(id) ? main : small).addLast(id);
            freq.put(id, 0);
        }
        return misses;
    }

    private static Long s3fifoFromSmall(ArrayDeque<Long> small, ArrayDeque<Long> main, Map<Long, Integer> freq) {
        while (!small.isEmpty()) {
            Long x = small.pollFirst();
            if (freq.get(x) == 0) {
                return x;
            }
            freq.put(x, 0);
            main.addLast(x);
        }
        return null;
    }

    private static Long s3fifoFromMain(ArrayDeque<Long> main, Map<Long, Integer> freq) {
        while (!main.isEmpty()) {
            Long x = main.pollFirst();
            int f = freq.get(x);
            if (f == 0) {
                return x;
            }
            freq.put(x, f - 1);
            main.addLast(x);
        }
        return null;
    }

    /**
     * W-TinyLFU: three insertion-ordered sets (window, probation, protected), a set of unjudged candidates, and a
     * count-min sketch of plain int counters using the library's hash of the keys.
     *
     * @param keyOf the key a device's policy knows an id by
     */
    static long wtinylfuMisses(AccessTrace trace, int capacity, LongUnaryOperator keyOf) {
        LinkedHashSet<Long> window = new LinkedHashSet<>();
        LinkedHashSet<Long> probation = new LinkedHashSet<>();
        LinkedHashSet<Long> protectedSet = new LinkedHashSet<>();
        Set<Long> candidates = new HashSet<>();
        Sketch sketch = new Sketch(FrequencySketch.widthFor(capacity));
        long misses = 0;
        for (int i = 0; i < trace.requests(); i++) {
            long id = trace.id(i);
            int count = window.size() + probation.size() + protectedSet.size();
            if (window.contains(id) || probation.contains(id) || protectedSet.contains(id)) {
                sketch.increment(keyOf.applyAsLong(id));
                if (window.remove(id)) {
                    window.add(id);
                } else if (protectedSet.remove(id)) {
                    protectedSet.add(id);
                } else {
                    probation.remove(id);
                    candidates.remove(id);
                    protectedSet.add(id);
                    while (protectedSet.size() > (count - window.size()) * 4 / 5) {
                        Long h = protectedSet.iterator().next();
                        protectedSet.remove(h);
                        probation.add(h);
                    }
                }
                continue;
            }
            misses++;
            if (count == capacity) {
                Long victim = probation.isEmpty() ? null : probation.iterator().next();
                Long candidate = probation.isEmpty() ? null : last(probation);
                Long loser = null;
                if (victim != null && !candidate.equals(victim) && candidates.remove(candidate)) {
                    int fc = sketch.frequency(keyOf.applyAsLong(candidate));
                    loser = fc <= sketch.frequency(keyOf.applyAsLong(victim)) ? candidate : victim;
                }
                if (loser == null) {
                    loser = victim != null ? victim
                            : !protectedSet.isEmpty() ? protectedSet.iterator().next() : window.iterator().next();
                }
                window.remove(loser);
                probation.remove(loser);
                protectedSet.remove(loser);
                candidates.remove(loser);
                count--;
            }
            sketch.increment(keyOf.applyAsLong(id));
            window.add(id);
            count++;
            while (window.size() > Math.max(1, count / 100)) {
                Long h = window.iterator().next();
                window.remove(h);
                probation.add(h);
                candidates.add(h);
            }
        }
        return misses;
    }

    private static Long last(LinkedHashSet<Long> set) {
        Long last = null;
        for (Long x : set) {
            last = x;
        }
        return last;
    }

    /** A count-min sketch of four rows of int counters, saturating at 15, halved after 10 x width additions. */
    private static final class Sketch {
        private final int[][] rows;
        private final int width;
        private int additions;

        Sketch(int width) {
            this.width = width;
            this.rows = new int[FrequencySketch.ROWS][width];
        }

        void increment(long key) {
            for (int r = 0; r < rows.length; r++) {
                int j = FrequencySketch.index(key, r, width);
                rows[r][j] = Math.min(15, rows[r][j] + 1);
            }
            if (++additions >= 10 * width) {
                for (int[] row : rows) {
                    for (int j = 0; j < row.length; j++) {
                        row[j] /= 2;
                    }
                }
                additions /= 2;
            }
        }

        int frequency(long key) {
            int f = Integer.MAX_VALUE;
            for (int r = 0; r < rows.length; r++) {
                f = Math.min(f, rows[r][FrequencySketch.index(key, r, width)]);
            }
            return f;
        }
    }
}
