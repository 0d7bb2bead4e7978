package dev.gemshrink.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import dev.gemshrink.GemException;
import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.LruOracle;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Replaying access traces under LRU gives exactly the misses of an LRU cache of equal-size objects ({@link
 * LruOracle}), on the shipped traces (Zipf, a loop larger than most capacities, a scan mixed with a hot set) and on
 * random ones. Under every built-in policy the replay keeps the invariants and the budget, runs on a device of that
 * policy, and misses what any cache must miss and no more than it can.
 */
class AccessTraceReplayTest {
    private static final List<String> TRACES = List.of("zipf.txt", "loop.txt", "scan-hot.txt");
    private static final List<Integer> CAPACITIES = List.of(1, 2, 7, 24, 64, 119, 120, 121, 400);

    static AccessTrace shipped(String name) throws IOException, TraceSyntaxException {
        try (InputStream in = AccessTraceReplayTest.class.getResourceAsStream("/access-traces/" + name);
                Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            return AccessTrace.parse(r);
        }
    }

    static Stream<Arguments> shippedTraces() {
        return TRACES.stream().flatMap(t -> CAPACITIES.stream().map(c -> Arguments.of(t, c)));
    }

    @ParameterizedTest(name = "{0} capacity {1}")
    @MethodSource("shippedTraces")
    void shippedTraceMissesEqualAnExactLru(String name, int capacity) throws Exception {
        AccessTrace trace = shipped(name);
        assertThat(trace.requests()).isEqualTo(3000);
        AccessTraceResult r = AccessTraceReplay.run(trace, ReclaimPolicy.lru(), capacity);
        assertThat(r.requests()).isEqualTo(3000);
        assertThat(r.misses()).isEqualTo(LruOracle.misses(trace, capacity));
    }

    @Test
    void aLoopOneLargerThanTheCacheMissesEveryTime() throws Exception {
        AccessTraceResult r = AccessTraceReplay.run(shipped("loop.txt"), ReclaimPolicy.lru(), 119);
        assertThat(r.misses()).isEqualTo(3000);
        assertThat(r.line()).isEqualTo("policy=lru requests=3000 misses=3000 miss_ratio=1.0000");
    }

    @Test
    void randomTracesMissLikeAnExactLru() {
        qt().withExamples(300).forAll(lists().of(integers().between(0, 40)).ofSizeBetween(1, 300),
                integers().between(1, 45)).checkAssert((ids, capacity) -> {
                    AccessTrace trace = AccessTrace.ofIds(ids.stream().mapToLong(Integer::longValue).toArray());
                    assertThat(AccessTraceReplay.run(trace, ReclaimPolicy.lru(), capacity).misses())
                            .as("%s at capacity %d", ids, capacity).isEqualTo(LruOracle.misses(trace, capacity));
                });
    }

    static Stream<ReclaimPolicy> policies() {
        return ReclaimPolicy.builtIns().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("policies")
    void everyStepKeepsTheInvariantsAndTheBudget(ReclaimPolicy policy) throws Exception {
        AccessTrace trace = shipped("scan-hot.txt");
        try (AccessTraceReplay r = new AccessTraceReplay(policy, 16)) {
            assertThat(r.device().reclaimPolicy()).isSameAs(policy);
            for (int i = 0; i < 400; i++) {
                r.request(trace.id(i), 1 + (int) (trace.id(i) % 3));
                Invariants.assertClean(r.device());
                assertThat(r.device().pool().usedPages()).isLessThanOrEqualTo(16);
            }
        }
    }

    static Stream<Arguments> policiesAndShippedTraces() {
        return policies().flatMap(p -> TRACES.stream().flatMap(t -> Stream.of(64, 400).map(c -> Arguments.of(p,
                t, c))));
    }

    /**
     * Whatever the victim order: every first request of an id misses, a repeat of the request just made hits (one
     * page always fits), and nothing is ever purged while every object fits.
     */
    @ParameterizedTest(name = "{0} {1} capacity {2}")
    @MethodSource("policiesAndShippedTraces")
    void everyPolicyMissesTheColdMissesAndNoMoreThanItMust(ReclaimPolicy policy, String name, int capacity)
            throws Exception {
        AccessTrace trace = shipped(name);
        long distinct = LruOracle.misses(trace, Integer.MAX_VALUE);
        long repeats = 0;
        for (int i = 1; i < trace.requests(); i++) {
            repeats += trace.id(i) == trace.id(i - 1) ? 1 : 0;
        }
        AccessTraceResult r = AccessTraceReplay.run(trace, policy, capacity);
        assertThat(r.policy()).isSameAs(policy);
        assertThat(r.requests()).isEqualTo(trace.requests());
        assertThat(r.misses()).isBetween(distinct, trace.requests() - repeats);
        if (capacity >= distinct) {
            assertThat(r.misses()).as("everything fits: only cold misses").isEqualTo(distinct);
        }
        assertThat(r.line()).startsWith("policy=" + policy.name() + " requests=" + trace.requests() + " misses=");
    }

    @Test
    void multiPageObjectsFitTheBudgetAndAnOversizedOneCachesNothing() {
        try (AccessTraceReplay r = new AccessTraceReplay(ReclaimPolicy.lru(), 10)) {
            assertThat(r.request(1, 4)).isFalse();
            assertThat(r.request(2, 4)).isFalse();
            assertThat(r.request(1, 4)).isTrue();
            assertThat(r.request(3, 11)).isFalse(); // larger than the capacity: nothing cached, nothing purged
            assertThat(r.request(3, 11)).isFalse();
            assertThat(r.request(2, 4)).isTrue();
            assertThat(r.request(4, 4)).isFalse(); // purges 1, the least recent
            assertThat(r.request(2, 4)).isTrue();
            assertThat(r.request(1, 4)).isFalse();
            assertThat(r.result()).isEqualTo(new AccessTraceResult(ReclaimPolicy.lru(), 9, 6));
            Invariants.assertClean(r.device());
        }
    }

    @Test
    void aBadCapacityOrSizeIsRefused() {
        assertThatThrownBy(() -> new AccessTraceReplay(ReclaimPolicy.lru(), 0)).isInstanceOf(GemException.class);
        try (AccessTraceReplay r = new AccessTraceReplay(ReclaimPolicy.lru(), 4)) {
            assertThatThrownBy(() -> r.request(1, 0)).isInstanceOf(IllegalArgumentException.class);
            assertThat(r.result().requests()).isZero();
        }
    }

    @Test
    void theRatioIsRoundedHalfUpFromTheExactCounts() {
        assertThat(new AccessTraceResult(ReclaimPolicy.lru(), 20000, 1).line()).endsWith("miss_ratio=0.0001");
        assertThat(new AccessTraceResult(ReclaimPolicy.lru(), 20000, 3).line()).endsWith("miss_ratio=0.0002");
        assertThat(new AccessTraceResult(ReclaimPolicy.lru(), 3, 2).line()).endsWith("miss_ratio=0.6667");
        assertThat(new AccessTraceResult(ReclaimPolicy.lru(), 0, 0).line()).endsWith("miss_ratio=0.0000");
    }
}
