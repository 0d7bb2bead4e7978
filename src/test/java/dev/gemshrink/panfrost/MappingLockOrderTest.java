package dev.gemshrink.panfrost;

import static org.assertj.core.api.Assertions.assertThat;
import static dev.gemshrink.testing.LockNesting.nest;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import dev.gemshrink.locking.LockOrderViolation;
import dev.gemshrink.locking.LockValidator;
import dev.gemshrink.locking.LockValidator.Mode;
import dev.gemshrink.testing.CapturedLog;
import dev.gemshrink.testing.IsolatedLockValidator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two threads take two BOs' mapping locks in opposite orders, one after the other: no deadlock happens, and the
 * validator still reports the inversion, naming both threads and both sites.
 */
@Timeout(30)
class MappingLockOrderTest {
    private static final long PAGE = 4096;

    /** The first site: a's mapping lock, then b's. */
    private static void firstSite(PanfrostBo a, PanfrostBo b) {
        nest(a.mappingsLock(), b.mappingsLock());
    }

    /** The second site: b's mapping lock, then a's. */
    private static void secondSite(PanfrostBo a, PanfrostBo b) {
        nest(b.mappingsLock(), a.mappingsLock());
    }

    /** Runs the body in a thread of that name and waits for it; returns what it threw, or null. */
    private static Throwable runIn(String name, Runnable body) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                thrown.set(e);
            }
        }, name);
        t.start();
        t.join(10_000);
        assertThat(t.isAlive()).as("%s finished", name).isFalse();
        return thrown.get();
    }

    private static boolean calls(LockOrderViolation.Dependency d, String method) {
        return d.stack().stream().anyMatch(e -> e.getClassName().equals(MappingLockOrderTest.class.getName())
                && e.getMethodName().equals(method));
    }

    @Test
    void oppositeOrdersInTwoThreadsAreReportedWithBothSites() throws Exception {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("lockdep").ramPages(16).build();
             IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.REPORT);
             CapturedLog log = CapturedLog.of(LockValidator.class)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo a = c.createBo("a", PAGE, 0);
            PanfrostBo b = c.createBo("b", PAGE, 0);

            assertThat(runIn("lockdep-first", () -> firstSite(a, b))).isNull();
            assertThat(iso.validator().violations()).isEmpty();
            assertThat(runIn("lockdep-second", () -> secondSite(a, b))).isNull(); // report mode: it goes on

            List<LockOrderViolation> found = iso.validator().violations();
            assertThat(found).hasSize(1);
            LockOrderViolation v = found.get(0);
            assertThat(v.isReclaimInversion()).isFalse();
            assertThat(v.now().thread()).isEqualTo("lockdep-second");
            assertThat(v.now().before()).isEqualTo("PanfrostBo.mappingsLock");
            assertThat(v.now().after()).isEqualTo("PanfrostBo.mappingsLock");
            assertThat(v.now().heldName()).isEqualTo("PanfrostBo.mappingsLock[b]");
            assertThat(v.now().takenName()).isEqualTo("PanfrostBo.mappingsLock[a]");
            assertThat(calls(v.now(), "secondSite")).isTrue();
            assertThat(v.earlier()).hasSize(1);
            assertThat(v.earlier().get(0).thread()).isEqualTo("lockdep-first");
            assertThat(calls(v.earlier().get(0), "firstSite")).isTrue();
            assertThat(v.getMessage())
                    .startsWith("lock-order inversion: PanfrostBo.mappingsLock taken while holding "
                            + "PanfrostBo.mappingsLock")
                    .contains("thread \"lockdep-second\" took PanfrostBo.mappingsLock[a] while holding "
                            + "PanfrostBo.mappingsLock[b]")
                    .contains("thread \"lockdep-first\" took PanfrostBo.mappingsLock[b] while holding "
                            + "PanfrostBo.mappingsLock[a]")
                    .contains(MappingLockOrderTest.class.getName() + ".secondSite(")
                    .contains(MappingLockOrderTest.class.getName() + ".firstSite(");
            assertThat(log.messages(Level.WARN)).containsExactly(v.getMessage());
            PanfrostTesting.assertClean(dev);
        }
    }

    @Test
    void strictModeThrowsBeforeTakingTheLockAndTheBoStaysUsable() throws Exception {
        try (PanfrostDevice dev = PanfrostDevice.builder().name("lockdep-strict").ramPages(16).build();
             IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.STRICT)) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo a = c.createBo("a", PAGE, 0);
            PanfrostBo b = c.createBo("b", PAGE, 0);
            assertThat(runIn("lockdep-first", () -> firstSite(a, b))).isNull();

            Throwable thrown = runIn("lockdep-second", () -> secondSite(a, b));

            assertThat(thrown).isInstanceOf(LockOrderViolation.class);
            assertThat(iso.validator().violations()).containsExactly((LockOrderViolation) thrown);
            assertThat(a.mappingsLock().isLocked()).isFalse();
            assertThat(b.mappingsLock().isLocked()).isFalse();
            firstSite(a, b); // the learned order still holds
            assertThat(LockValidator.heldByCurrentThread()).isEmpty();
            assertThatThrownBy(() -> secondSite(a, b)).isInstanceOf(LockOrderViolation.class);
            PanfrostTesting.assertClean(dev);
        }
    }
}
