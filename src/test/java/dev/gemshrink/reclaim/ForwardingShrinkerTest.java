package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every call of a decorator reaches the wrapped shrinker unless the decorator changes it. */
class ForwardingShrinkerTest {
    /** Records which calls it got. */
    static final class Recording implements Shrinker {
        final List<String> calls = new ArrayList<>();

        @Override
        public String name() {
            calls.add("name");
            return "recording";
        }

        @Override
        public long count(ShrinkControl sc) {
            calls.add("count");
            return 7;
        }

        @Override
        public long scan(ShrinkControl sc) {
            calls.add("scan");
            return 3;
        }

        @Override
        public void applyDeferred() {
            calls.add("applyDeferred");
        }

        @Override
        public int seeks() {
            calls.add("seeks");
            return 5;
        }

        @Override
        public long batch() {
            calls.add("batch");
            return 64;
        }
    }

    @Test
    void everyCallReachesTheWrappedShrinker() {
        for (boolean limited : new boolean[] {false, true}) {
            Recording r = new Recording();
            Shrinker s = limited ? new NoProgressLimit(r, 2) : new ForwardingShrinker(r) { };
            ShrinkControl sc = new ShrinkControl(8, true, true);
            assertThat(s.name()).isEqualTo("recording");
            assertThat(s.count(sc)).isEqualTo(7);
            assertThat(s.scan(sc)).isEqualTo(3);
            s.applyDeferred();
            assertThat(s.seeks()).isEqualTo(5);
            assertThat(s.batch()).isEqualTo(64);
            assertThat(r.calls).containsExactly("name", "count", "scan", "applyDeferred", "seeks", "batch");
        }
    }

    @Test
    void theRegistryReachesADecoratedShrinkersDeferredWork() {
        Recording r = new Recording();
        ShrinkerRegistry registry = new ShrinkerRegistry();
        registry.register(new NoProgressLimit(r, 2));
        registry.applyDeferred();
        assertThat(r.calls).contains("applyDeferred");
    }
}
