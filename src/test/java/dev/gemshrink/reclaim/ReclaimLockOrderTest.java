package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.LockOrderViolation;
import dev.gemshrink.locking.LockValidator;
import dev.gemshrink.locking.LockValidator.Mode;
import dev.gemshrink.locking.TrackedLock;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.testing.CapturedLog;
import dev.gemshrink.testing.IsolatedLockValidator;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The reclaim pseudo-lock: a lock held across an allocation that may reclaim, and taken blocking by a shrinker's
 * scan, is a reclaim inversion, whichever order the validator sees first and whether or not reclaim actually ran.
 */
@Timeout(30)
class ReclaimLockOrderTest {
    private static final LockClass CACHE_LOCK = LockClass.named("test.cacheLock");

    /** A test-only shrinker that takes a lock blocking in its scan (what a shrinker must never do) and frees nothing. */
    private static final class LockTakingShrinker implements Shrinker {
        final TrackedLock lock;
        final AtomicInteger scans = new AtomicInteger();

        LockTakingShrinker(TrackedLock lock) {
            this.lock = lock;
        }

        @Override
        public String name() {
            return "lock-taking";
        }

        @Override
        public long count(ShrinkControl sc) {
            return 64;
        }

        @Override
        public long scan(ShrinkControl sc) {
            scans.incrementAndGet();
            lock.lock();
            try {
                return 0;
            } finally {
                lock.unlock();
            }
        }
    }

    /** Holds the lock across an allocation of one page (the caller's side of the inversion). */
    private static void allocateHolding(TrackedLock lock, PagePool pool) {
        lock.lock();
        try {
            pool.allocate(1, "cache-entry");
        } finally {
            lock.unlock();
        }
    }

    @Test
    void aShrinkerTakingALockHeldAcrossAnAllocationIsAReclaimInversion() {
        TrackedLock cache = new TrackedLock(CACHE_LOCK, "cache");
        LockTakingShrinker shrinker = new LockTakingShrinker(cache);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        PagePool pool = PagePool.ofPages(4);
        ShrinkerRegistry.Registration reg = registry.register(shrinker);
        PagePool.HookRegistration hook = pool.addReclaimHook(registry);
        try (reg; hook; IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.REPORT);
             CapturedLog log = CapturedLog.of(LockValidator.class)) {
            int[] all = pool.allocate(4, "filler");

            // Full pool: the allocation runs direct reclaim on this thread, and the shrinker takes the held lock.
            assertThatThrownBy(() -> allocateHolding(cache, pool))
                    .isInstanceOf(GemException.class).extracting(e -> ((GemException) e).errno()).isEqualTo(Errno.ENOMEM);

            assertThat(shrinker.scans.get()).isPositive();
            assertThat(iso.validator().violations()).hasSize(1);
            LockOrderViolation v = iso.validator().violations().get(0);
            assertThat(v.isReclaimInversion()).isTrue();
            assertThat(v.now().before()).isEqualTo("reclaim");
            assertThat(v.now().after()).isEqualTo("test.cacheLock");
            assertThat(v.now().stack()).anyMatch(e -> e.getMethodName().equals("scan")
                    && e.getClassName().equals(LockTakingShrinker.class.getName()));
            assertThat(v.earlier()).hasSize(1);
            assertThat(v.earlier().get(0).before()).isEqualTo("test.cacheLock");
            assertThat(v.earlier().get(0).after()).isEqualTo("reclaim");
            assertThat(v.earlier().get(0).stack()).anyMatch(e -> e.getMethodName().equals("allocateHolding"));
            assertThat(v.getMessage()).startsWith(
                    "reclaim lock-order inversion: test.cacheLock taken while holding reclaim");
            assertThat(log.messages(Level.WARN)).containsExactly(v.getMessage());
            assertThat(pool.free(all)).isEqualTo(4);
        }
    }

    @Test
    void strictModeRefusesTheAllocationOnceReclaimWasSeenTakingTheLock() {
        TrackedLock cache = new TrackedLock(CACHE_LOCK, "cache");
        LockTakingShrinker shrinker = new LockTakingShrinker(cache);
        ShrinkerRegistry registry = new ShrinkerRegistry();
        PagePool pool = PagePool.ofPages(4);
        ShrinkerRegistry.Registration reg = registry.register(shrinker);
        try (reg; IsolatedLockValidator iso = IsolatedLockValidator.of(Mode.STRICT)) {
            registry.shrinkSlab(0, 1, true); // a scan, as the background reclaimer runs it: reclaim -> cacheLock

            // No memory pressure at all: the allocation would not reclaim now, but it may, so it is refused.
            assertThatThrownBy(() -> allocateHolding(cache, pool)).isInstanceOf(LockOrderViolation.class)
                    .satisfies(e -> assertThat(((LockOrderViolation) e).isReclaimInversion()).isTrue());
            assertThat(pool.freePages()).isEqualTo(4);
            assertThat(cache.isLocked()).isFalse();
            assertThat(LockValidator.heldByCurrentThread()).isEmpty();
            assertThat(iso.validator().violations()).hasSize(1);
        }
    }
}
