package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.sim.AccessTrace;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.LruOracle;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every built-in policy, run as a device's reclaim policy on an access trace replay like {@code sim.AccessTraceReplay}'s
 * (a hit is madvise WILLNEED, a read through a transient CPU mapping, DONTNEED; a miss creates the object, takes its
 * pages, whose allocation reclaims, writes it and marks it DONTNEED: each request one use, however many state changes
 * it makes), misses
 * exactly as an independent reference cache of the same policy on equal-size objects ({@link PolicyOracles},
 * {@link LruOracle}): on the shipped traces at several capacities and on random traces. And every step of a replay
 * with objects of different sizes keeps the invariants under every policy.
 */
class PolicyReplayOracleTest {
    private static final List<String> TRACES = List.of("zipf.txt", "loop.txt", "scan-hot.txt");
    private static final List<Integer> CAPACITIES = List.of(1, 2, 7, 24, 64, 119, 120, 121, 400);

    /** A replay on a device of its own, objects named {@code id:N}. */
    private static final class Replay implements AutoCloseable {
        final GemDevice device;
        final Map<Long, ShmemObject> objects = new HashMap<>();
        long misses;

        Replay(ReclaimPolicy policy, int capacityPages) {
            device = GemDevice.builder().name("oracle-" + policy).ramPages(capacityPages).reclaimPolicy(policy)
                    .build();
        }

        void request(long id, int pages) {
            ShmemObject bo = objects.get(id);
            if (bo != null && bo.madvise(Madv.WILLNEED)) {
                bo.read(0, new byte[1]);
                bo.madvise(Madv.DONTNEED);
                return;
            }
            misses++;
            if (bo != null) {
                assertThat(bo.free().isEmpty()).isTrue();
            }
            ShmemObject fresh = device.createObject(name(id), (long) pages * PagePool.PAGE_SIZE);
            fresh.getPagesSgt();
            fresh.write(0, new byte[] {1});
            fresh.madvise(Madv.DONTNEED);
            objects.put(id, fresh);
        }

        @Override
        public void close() {
            objects.values().forEach(ShmemObject::free);
            device.close();
        }
    }

    private static String name(long id) {
        return "id:" + id;
    }

    /** The key a device's policy knows the object of an id by (its name's, see ShmemObject's reclaim key). */
    private static long keyOf(long id) {
        return 1L << 62 | (name(id).hashCode() & 0xffff_ffffL);
    }

    private static long replayMisses(AccessTrace trace, ReclaimPolicy policy, int capacity) {
        try (Replay r = new Replay(policy, capacity)) {
            for (int i = 0; i < trace.requests(); i++) {
                r.request(trace.id(i), 1);
            }
            return r.misses;
        }
    }

    private static long oracleMisses(AccessTrace trace, ReclaimPolicy policy, int capacity) {
        return switch (policy.name()) {
            case "lru" -> LruOracle.misses(trace, capacity);
            case "sieve" -> PolicyOracles.sieveMisses(trace, capacity);
            case "s3fifo" -> PolicyOracles.s3fifoMisses(trace, capacity);
            case "wtinylfu" -> PolicyOracles.wtinylfuMisses(trace, capacity, PolicyReplayOracleTest::keyOf);
            default -> throw new AssertionError("no oracle for " + policy);
        };
    }

    static AccessTrace shipped(String name) throws Exception {
        try (InputStream in = PolicyReplayOracleTest.class.getResourceAsStream("/access-traces/" + name);
                Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            return AccessTrace.parse(r);
        }
    }

    static Stream<Arguments> shippedTraces() {
        return ReclaimPolicy.builtIns().stream().flatMap(p -> TRACES.stream()
                .flatMap(t -> CAPACITIES.stream().map(c -> Arguments.of(p, t, c))));
    }

    @ParameterizedTest(name = "{0} on {1} capacity {2}")
    @MethodSource("shippedTraces")
    void shippedTracesMissAsTheReferenceCache(ReclaimPolicy policy, String name, int capacity) throws Exception {
        AccessTrace trace = shipped(name);
        assertThat(replayMisses(trace, policy, capacity)).isEqualTo(oracleMisses(trace, policy, capacity));
    }

    static Stream<ReclaimPolicy> policies() {
        return ReclaimPolicy.builtIns().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("policies")
    void randomTracesMissAsTheReferenceCache(ReclaimPolicy policy) {
        qt().withExamples(150).forAll(lists().of(integers().between(0, 40)).ofSizeBetween(1, 300),
                integers().between(1, 45)).checkAssert((ids, capacity) -> {
                    AccessTrace trace = AccessTrace.ofIds(ids.stream().mapToLong(Integer::longValue).toArray());
                    assertThat(replayMisses(trace, policy, capacity)).as("%s at capacity %d", ids, capacity)
                            .isEqualTo(oracleMisses(trace, policy, capacity));
                });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("policies")
    void everyStepWithMixedSizesKeepsTheInvariantsAndTheBudget(ReclaimPolicy policy) throws Exception {
        AccessTrace trace = shipped("scan-hot.txt");
        try (Replay r = new Replay(policy, 16)) {
            for (int i = 0; i < 400; i++) {
                r.request(trace.id(i), 1 + (int) (trace.id(i) % 3));
                Invariants.assertClean(r.device);
                assertThat(r.device.pool().usedPages()).isLessThanOrEqualTo(16);
            }
        }
    }
}
