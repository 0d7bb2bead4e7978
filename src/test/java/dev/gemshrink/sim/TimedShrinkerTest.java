package dev.gemshrink.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The timing wrapper changes nothing but the timing: the registry's calls reach the device's shrinker. */
class TimedShrinkerTest {
    @Test
    void scansAreTimedAndDeferredWorkStillReachesTheWrappedShrinker() {
        AtomicInteger deferredApplied = new AtomicInteger();
        Shrinker inner = new Shrinker() {
            @Override
            public String name() {
                return "device";
            }

            @Override
            public long count(ShrinkControl sc) {
                return 4;
            }

            @Override
            public long scan(ShrinkControl sc) {
                return 4;
            }

            @Override
            public void applyDeferred() {
                deferredApplied.incrementAndGet();
            }
        };
        ShrinkerRegistry registry = new ShrinkerRegistry();
        TimedShrinker.Installed t = TimedShrinker.install(registry, registry.register(inner));
        registry.applyDeferred();
        assertThat(deferredApplied).hasValue(1);
        assertThat(t.timer().name()).isEqualTo("device");
        assertThat(registry.reclaim(4)).isEqualTo(4);
        assertThat(t.timer().sorted()).hasSize(1);
    }
}
