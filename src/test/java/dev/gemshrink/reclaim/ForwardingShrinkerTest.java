package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Every call of a decorator reaches the wrapped shrinker unless the decorator changes it. */
class ForwardingShrinkerTest {
    @Test
    void everyCallReachesTheWrappedShrinker() {
        for (boolean limited : new boolean[] {false, true}) {
            FakeShrinker f = new FakeShrinker("fake", 7, 5, 64);
            Shrinker s = limited ? new NoProgressLimit(f, 2) : new ForwardingShrinker(f) { };
            ShrinkControl sc = new ShrinkControl(3, true, true);
            assertThat(s.name()).isEqualTo("fake");
            assertThat(s.count(sc)).isEqualTo(7);
            assertThat(f.counts).hasValue(1);
            assertThat(s.scan(sc)).isEqualTo(3);
            assertThat(f.scans()).containsExactly(3L);
            s.applyDeferred();
            assertThat(f.deferredApplied).hasValue(1);
            assertThat(s.seeks()).isEqualTo(5);
            assertThat(s.batch()).isEqualTo(64);
        }
    }

    @Test
    void theRegistryReachesADecoratedShrinkersDeferredWork() {
        FakeShrinker f = new FakeShrinker("fake", 7);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(new NoProgressLimit(f, 2));
        registry.applyDeferred();
        assertThat(f.deferredApplied).hasValue(1);
    }
}
