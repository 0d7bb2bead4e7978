package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.gemshrink.memory.PagePool;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The kswapd-like daemon survives whatever a shrinker throws and a stray interrupt: a later low-watermark wake is
 * still served, and only close() ends the thread.
 */
class BackgroundReclaimerFailureTest {
    private final PagePool pool = PagePool.ofPages(64);
    private final ShrinkerRegistry registry = new ShrinkerRegistry();
    private final Deque<int[]> held = new ArrayDeque<>(); // guarded by itself: frames the fake shrinker can free
    private final Logger log = (Logger) LoggerFactory.getLogger(BackgroundReclaimer.class);
    private final ListAppender<ILoggingEvent> warnings = new ListAppender<>();

    @BeforeEach
    void captureWarnings() {
        warnings.start();
        log.addAppender(warnings);
        log.setAdditive(false);
    }

    @AfterEach
    void releaseWarnings() {
        log.setAdditive(true);
        log.detachAppender(warnings);
    }

    /** Frees one held 8-page block per scan call, after {@code failure} says whether to throw instead. */
    private Shrinker freeingShrinker(AtomicInteger scansBeforeSuccess, Error failure, CountDownLatch scanned) {
        return new Shrinker() {
            @Override
            public String name() {
                return "blocks";
            }

            @Override
            public long count(ShrinkControl sc) {
                synchronized (held) {
                    return held.size() * 8L;
                }
            }

            @Override
            public long scan(ShrinkControl sc) {
                scanned.countDown();
                if (scansBeforeSuccess.getAndDecrement() > 0) {
                    throw failure;
                }
                int[] block;
                synchronized (held) {
                    block = held.poll();
                }
                if (block == null) {
                    return 0;
                }
                pool.free(block);
                return block.length;
            }
        };
    }

    private void fill(int blocks) {
        for (int i = 0; i < blocks; i++) {
            int[] b = pool.allocate(8, "test");
            synchronized (held) {
                held.add(b);
            }
        }
    }

    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            TimeUnit.MILLISECONDS.sleep(2);
        }
        return true;
    }

    /** The kswapd threads alive now (other test classes' reclaimers included, hence the before/after sets). */
    private static Set<Thread> kswapdThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("gemshrink-kswapd") && t.isAlive())
                .collect(Collectors.toSet());
    }

    @Test
    void anErrorFromAShrinkerIsLoggedAndCountedAndTheNextWakeIsStillServed() throws Exception {
        AtomicInteger failFirst = new AtomicInteger(1);
        CountDownLatch scanned = new CountDownLatch(1);
        registry.register(freeingShrinker(failFirst, new AssertionError("shrinker bug"), scanned));
        try (BackgroundReclaimer kswapd = new BackgroundReclaimer(pool, registry, 16, 24).start()) {
            fill(7); // 8 pages free: below the low watermark; the first scan throws
            assertThat(await(() -> kswapd.failures() == 1)).as("the failure is counted").isTrue();
            assertThat(await(() -> pool.freePages() >= 24)).as("served after the failure: free=%d",
                    pool.freePages()).isTrue();
            assertThat(kswapd.reclaimed()).isPositive();
        }
        assertThat(warnings.list).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(e.getFormattedMessage()).isEqualTo("background reclaim failed");
            assertThat(e.getThrowableProxy().getMessage()).isEqualTo("shrinker bug");
        });
    }

    @Test
    void aStrayInterruptDoesNotEndTheDaemon() throws Exception {
        AtomicInteger never = new AtomicInteger();
        CountDownLatch scanned = new CountDownLatch(1);
        Set<Thread> before = kswapdThreads();
        registry.register(freeingShrinker(never, new AssertionError("unused"), scanned));
        BackgroundReclaimer kswapd = new BackgroundReclaimer(pool, registry, 16, 24).start();
        try {
            Set<Thread> mine = kswapdThreads();
            mine.removeAll(before);
            Thread daemon = mine.stream().reduce((a, b) -> {
                throw new AssertionError("more than one new daemon: " + mine);
            }).orElseThrow();
            daemon.interrupt();
            fill(7);
            assertThat(scanned.await(10, TimeUnit.SECONDS)).as("the interrupted daemon still wakes").isTrue();
            assertThat(await(() -> pool.freePages() >= 24)).isTrue();
        } finally {
            kswapd.close();
        }
        assertThat(warnings.list).isEmpty();
    }
}
