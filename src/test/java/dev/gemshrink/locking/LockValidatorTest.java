package dev.gemshrink.locking;

import static org.assertj.core.api.Assertions.assertThat;
import static dev.gemshrink.testing.LockNesting.nest;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.locking.LockValidator.Mode;
import dev.gemshrink.testing.IsolatedLockValidator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What the lock validator learns, what it accepts and what it reports, on locks of test classes. */
@Timeout(30)
class LockValidatorTest {
    private static final LockClass OUTER = LockClass.named("test.outer");
    private static final LockClass MIDDLE = LockClass.named("test.middle");
    private static final LockClass INNER = LockClass.named("test.inner");

    @Test
    void aCycleThroughThreeClassesIsReportedWithTheWholePath() {
        TrackedLock a = new TrackedLock(OUTER, "a");
        TrackedLock b = new TrackedLock(MIDDLE, "b");
        TrackedLock c = new TrackedLock(INNER, "c");
        try (IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.STRICT)) {
            nest(a, b);
            nest(b, c);
            assertThat(iso.validator().orderCount()).isEqualTo(2);

            assertThatThrownBy(() -> nest(c, a)).isInstanceOfSatisfying(LockOrderViolation.class, v -> {
                assertThat(v.now().before()).isEqualTo("test.inner");
                assertThat(v.now().after()).isEqualTo("test.outer");
                assertThat(v.earlier()).extracting(LockOrderViolation.Dependency::after)
                        .containsExactly("test.middle", "test.inner");
            });
            assertThat(a.isLocked()).isFalse();
            assertThat(c.isLocked()).isFalse();
            assertThat(iso.validator().orderCount()).isEqualTo(2); // the inverted order is not learned
        }
    }

    @Test
    void aTryLockAddsNoOrderButLocksTakenUnderItOrderAfterIt() {
        TrackedLock a = new TrackedLock(OUTER, "a");
        TrackedLock b = new TrackedLock(MIDDLE, "b");
        try (IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.STRICT)) {
            a.lock();
            try {
                assertThat(b.tryLock()).isTrue();
                assertThat(LockValidator.heldByCurrentThread())
                        .containsExactly("test.outer[a]", "test.middle[b] (try)");
                b.unlock();
            } finally {
                a.unlock();
            }
            assertThat(iso.validator().orderCount()).isZero();
            assertThat(b.tryLock()).isTrue();
            try {
                a.lock(); // taken blocking under the tried b: b -> a
                a.unlock();
            } finally {
                b.unlock();
            }
            assertThat(iso.validator().orderCount()).isEqualTo(1);
            assertThatThrownBy(() -> nest(a, b)).isInstanceOf(LockOrderViolation.class);
            assertThat(a.isLocked()).isFalse();
        }
    }

    @Test
    void reservationLocksInOneAcquireContextNestInAnyOrderAndWaitDieBackoffIsNoInversion() throws Exception {
        ResvLock x = new ResvLock("x");
        ResvLock y = new ResvLock("y");
        try (IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.STRICT)) {
            try (AcquireContext ctx = new AcquireContext()) {
                ctx.lockAll(List.of(x, y));
            }
            try (AcquireContext ctx = new AcquireContext()) {
                ctx.lockAll(List.of(y, x));
            }
            // A younger context meets y held by an older one: it dies, backs off, and takes y first, then x.
            AcquireContext older = new AcquireContext();
            older.lock(y);
            CountDownLatch died = new CountDownLatch(1);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread younger = new Thread(() -> {
                try (AcquireContext ctx = new AcquireContext()) {
                    ctx.lock(x);
                    try {
                        ctx.lock(y);
                    } catch (dev.gemshrink.GemException e) {
                        died.countDown();
                        ctx.unlockAll();
                        ctx.lockSlow(y);
                        ctx.lock(x);
                    }
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "younger");
            younger.start();
            died.await();
            older.close();
            younger.join(10_000);
            assertThat(failed.get()).isNull();
            assertThat(iso.validator().violations()).isEmpty();
        }
    }

    @Test
    void twoReservationLocksWithoutAContextAreOrderedPerLock() {
        ResvLock x = new ResvLock("x");
        ResvLock y = new ResvLock("y");
        ResvLock z = new ResvLock("z");
        try (IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.STRICT)) {
            x.lock();
            y.lock();
            y.unlock();
            z.lock(); // another pair: its own order
            z.unlock();
            x.unlock();
            y.lock();
            try {
                assertThatThrownBy(x::lock).isInstanceOf(LockOrderViolation.class)
                        .hasMessageContaining("took ResvLock[x] while holding ResvLock[y]")
                        .hasMessageContaining("took ResvLock[y] while holding ResvLock[x]");
                assertThat(x.isLocked()).isFalse();
                z.lock();
                z.unlock();
            } finally {
                y.unlock();
            }
            assertThat(iso.validator().violations()).hasSize(1);
        }
    }

    @Test
    void aReentrantLockTakenAgainAddsNothingAndIsReleasedTwice() {
        TrackedLock a = new TrackedLock(OUTER, "a");
        try (IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.STRICT)) {
            a.lock();
            a.lock();
            assertThat(LockValidator.heldByCurrentThread()).hasSize(2);
            a.unlock();
            a.unlock();
            assertThat(LockValidator.heldByCurrentThread()).isEmpty();
            assertThat(iso.validator().orderCount()).isZero();
        }
    }

    @Test
    void theModeIsParsedFromThePropertyText() {
        assertThat(LockValidator.modeOf(" Strict ")).isEqualTo(Mode.STRICT);
        assertThat(LockValidator.modeOf("report")).isEqualTo(Mode.REPORT);
        assertThat(LockValidator.modeOf("off")).isEqualTo(Mode.OFF);
        assertThatThrownBy(() -> LockValidator.modeOf("on")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("gemshrink.lockdep must be off, report or strict: on");
        assertThatThrownBy(() -> new LockValidator(Mode.OFF)).isInstanceOf(IllegalArgumentException.class);
    }
}
