package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whether a shrinker may block ({@link ShrinkControl#canBlock()}) on each path that calls it: direct reclaim from an
 * allocation says what its caller allows, the background reclaimer and the debugfs-like count and scan may block,
 * and the registry's forms without the flag do not.
 */
class CanBlockTest {
    private static final int PAGES = 8;

    private final PagePool pool = PagePool.ofPages(PAGES);
    private final ShrinkerRegistry registry = new ShrinkerRegistry();
    private final FakeShrinker shrinker = new FakeShrinker("held", PAGES);
    private final Deque<int[]> held = new ArrayDeque<>(); // guarded by itself: one page each

    @BeforeEach
    void fillThePoolWithPagesTheShrinkerFrees() {
        for (int i = 0; i < PAGES; i++) {
            held.add(pool.allocate(1, "held"));
        }
        shrinker.onScan = sc -> {
            long freed = 0;
            while (freed < sc.nrToScan()) {
                int[] page;
                synchronized (held) {
                    page = held.poll();
                }
                if (page == null) {
                    break;
                }
                freed += pool.free(page);
            }
            shrinker.freeable(PAGES - pool.usedPages());
            return freed > 0 ? freed : Shrinker.STOP;
        };
        registry.register(shrinker);
    }

    @ParameterizedTest(name = "caller allows blocking: {0}")
    @ValueSource(booleans = {false, true})
    void anAllocationsDirectReclaimBlocksOnlyWhenItsCallerAllows(boolean callerMayBlock) {
        pool.addReclaimHook(registry);
        int[] got = callerMayBlock ? pool.allocateMayBlock(1, "holding no lock")
                : pool.allocate(1, "holding a reservation lock");
        assertThat(got).hasSize(1);
        assertThat(shrinker.scanCanBlock()).containsExactly(callerMayBlock);
        assertThat(shrinker.countCanBlock()).isNotEmpty().containsOnly(callerMayBlock);
    }

    @Test
    void anAllocationWithoutReclaimAsksNoShrinker() {
        pool.addReclaimHook(registry);
        assertThatThrownBy(() -> pool.allocateNoReclaim(1, "fail fast"))
                .isInstanceOfSatisfying(GemException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOMEM));
        assertThat(shrinker.counts).hasValue(0);
        assertThat(shrinker.scanCanBlock()).isEmpty();
    }

    @Test
    void aHookThatDoesNotTellThemApartServesBothAllocations() {
        AtomicInteger calls = new AtomicInteger();
        pool.addReclaimHook(pages -> {
            calls.incrementAndGet();
            synchronized (held) {
                return pool.free(held.poll());
            }
        });
        assertThat(pool.allocate(1, "may not block")).hasSize(1);
        assertThat(pool.allocateMayBlock(1, "may block")).hasSize(1);
        assertThat(calls).hasValue(2);
    }

    @Test
    void theBackgroundReclaimerMayBlock() throws Exception {
        CountDownLatch scanned = new CountDownLatch(1);
        ToLongFunction<ShrinkControl> freeing = shrinker.onScan;
        shrinker.onScan = sc -> {
            long freed = freeing.applyAsLong(sc);
            scanned.countDown();
            return freed;
        };
        try (BackgroundReclaimer kswapd = new BackgroundReclaimer(pool, registry, 2, 4).start()) {
            kswapd.wake(); // the pool is full: below the low watermark
            assertThat(scanned.await(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(shrinker.scanCanBlock()).isNotEmpty().containsOnly(true);
        assertThat(shrinker.countCanBlock()).isNotEmpty().containsOnly(true);
    }

    @Test
    void theDebugfsCountAndScanMayBlock() {
        ShrinkerRegistry.Registration r = registry.find("held").orElseThrow();
        assertThat(r.count()).isEqualTo(PAGES);
        assertThat(r.scan(2)).isEqualTo(2);
        assertThat(shrinker.countCanBlock()).containsExactly(true);
        assertThat(shrinker.scanCanBlock()).containsExactly(true);
    }

    @Test
    void theRegistryPassesItsCallersFlag() {
        registry.reclaim(1, true, true);
        registry.shrinkSlab(0, 1, true, true);
        assertThat(shrinker.scanCanBlock()).containsExactly(true, true);
        registry.reclaim(1, true, false);
        registry.reclaim(1, true);
        registry.shrinkSlab(0, 1, true, false);
        registry.shrinkSlab(0, 1, true);
        assertThat(shrinker.scanCanBlock()).containsExactly(true, true, false, false, false, false);
    }
}
