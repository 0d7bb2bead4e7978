package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Empty scans answer 0 up to the limit in a row, then STOP, until a scan frees something again. */
class NoProgressLimitTest {
    private static long scan(Shrinker s) {
        return s.scan(new ShrinkControl(16, true, true));
    }

    @Test
    void emptyScansAnswerZeroTwiceThenStopAndProgressStartsTheRunOver() {
        FakeShrinker inner = new FakeShrinker("inner", 5, 3, 7);
        NoProgressLimit s = new NoProgressLimit(inner, 2);
        long[] frees = {Shrinker.STOP};
        inner.onScan = sc -> frees[0];
        assertThat(scan(s)).isZero();
        assertThat(scan(s)).isZero();
        assertThat(scan(s)).isEqualTo(Shrinker.STOP);
        assertThat(scan(s)).isEqualTo(Shrinker.STOP);
        assertThat(s.emptyScansInARow()).isEqualTo(4);
        frees[0] = 3;
        assertThat(scan(s)).isEqualTo(3);
        assertThat(s.emptyScansInARow()).isZero();
        frees[0] = 0; // an inner 0 is no progress either
        assertThat(scan(s)).isZero();
        assertThat(scan(s)).isZero();
        assertThat(scan(s)).isEqualTo(Shrinker.STOP);
        assertThat(s.name()).isEqualTo("inner");
        assertThat(s.count(new ShrinkControl(0, true, true))).isEqualTo(5);
        assertThat(s.seeks()).isEqualTo(3);
        assertThat(s.batch()).isEqualTo(7);
    }

    @Test
    void aLimitOfZeroStopsAtOnceAndANegativeLimitIsRefused() {
        FakeShrinker inner = new FakeShrinker("inner", 0);
        inner.onScan = sc -> 0;
        assertThat(scan(new NoProgressLimit(inner, 0))).isEqualTo(Shrinker.STOP);
        assertThatThrownBy(() -> new NoProgressLimit(inner, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
