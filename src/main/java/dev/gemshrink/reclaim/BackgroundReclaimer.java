package dev.gemshrink.reclaim;

import dev.gemshrink.memory.PagePool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A kswapd-like daemon thread: it sleeps until the pool's free pages drop below a low watermark (the pool wakes it
 * after such an allocation, and it also checks on a timer), then reclaims through the registry until the free pages
 * reach a high watermark or reclaim makes no progress. It holds no lock while it reclaims, so its shrinkers may block
 * ({@link ShrinkControl#canBlock()} is true): a wait for a busy object's fence cannot be a wait for itself.
 *
 * <p>Several reclaimers may watch one pool: each adds its own low-watermark hook and {@link #close()} removes only
 * that one.
 *
 * <p>Failures: whatever a reclaim throws, an {@link Error} included, is logged and counted ({@link #failures()}) and
 * the thread goes on serving; an interrupt of the thread is ignored. Only {@link #close()} ends it.
 *
 * <p>Thread safety: all methods may be called from any thread; {@link #start()} and {@link #close()} are serialized by
 * a lifecycle monitor that guards the thread and the pool registration.
 */
public final class BackgroundReclaimer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BackgroundReclaimer.class);
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final PagePool pool;
    private final ShrinkerRegistry registry;
    private final int low;
    private final int high;
    private final AtomicBoolean running = new AtomicBoolean(); // written under lifecycle, read by the thread
    private final Object lifecycle = new Object();
    private PagePool.HookRegistration wakeHook; // guarded by lifecycle: this reclaimer's hook on the pool
    private final Object signal = new Object();
    private boolean woken; // guarded by signal
    private final LongAdder wakeups = new LongAdder();
    private final LongAdder reclaimed = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private Thread thread; // guarded by lifecycle

    /**
     * Creates a stopped reclaimer.
     *
     * @param pool     the pool to watch
     * @param registry the shrinkers to run
     * @param low      wake when fewer pages than this are free
     * @param high     reclaim until this many pages are free
     * @throws IllegalArgumentException unless 0 &lt;= low &lt;= high &lt;= the pool's size
     */
    public BackgroundReclaimer(PagePool pool, ShrinkerRegistry registry, int low, int high) {
        if (low < 0 || high < low || high > pool.totalPages()) {
            throw new IllegalArgumentException("watermarks must satisfy 0 <= low <= high <= " + pool.totalPages()
                    + ": low=" + low + " high=" + high);
        }
        this.pool = pool;
        this.registry = registry;
        this.low = low;
        this.high = high;
    }

    /**
     * Starts the daemon thread and hooks it to the pool's low watermark. Idempotent. If the thread cannot be
     * started, the reclaimer stays stopped and holds no hook on the pool.
     *
     * @return this reclaimer
     */
    public BackgroundReclaimer start() {
        synchronized (lifecycle) {
            if (running.get()) {
                return this;
            }
            Thread t = new Thread(this::loop, "gemshrink-kswapd");
            t.setDaemon(true);
            running.set(true);
            PagePool.HookRegistration hook = pool.addLowWatermarkHook(low, this::wake);
            try {
                t.start();
            } catch (Throwable e) {
                hook.close();
                running.set(false);
                throw e;
            }
            thread = t;
            wakeHook = hook;
        }
        return this;
    }

    /** Wakes the thread (cheap; called by the pool when free pages fall below the low watermark). */
    public void wake() {
        synchronized (signal) {
            woken = true;
            signal.notifyAll();
        }
    }

    /**
     * Returns how often the thread woke to reclaim.
     *
     * @return wake-ups that found free pages below the low watermark
     */
    public long wakeups() {
        return wakeups.sum();
    }

    /**
     * Returns the pages this thread has reclaimed.
     *
     * @return pages freed in the background
     */
    public long reclaimed() {
        return reclaimed.sum();
    }

    /**
     * Returns how many reclaims failed: a shrinker threw (an {@link Error} included). Each is logged; the thread
     * keeps serving.
     *
     * @return failed reclaims so far
     */
    public long failures() {
        return failures.sum();
    }

    /**
     * Stops the thread and waits for it to end, and removes this reclaimer's hook from the pool (hooks of other
     * reclaimers on the same pool stay). Idempotent.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (!running.get()) {
                return;
            }
            running.set(false);
            wakeHook.close();
            wakeHook = null;
            wake();
            Thread t = thread;
            thread = null;
            try {
                t.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void loop() {
        while (running.get()) {
            synchronized (signal) {
                if (!woken) {
                    try {
                        TimeUnit.NANOSECONDS.timedWait(signal, POLL_NANOS);
                    } catch (InterruptedException e) {
                        continue; // only close() stops the daemon; a stray interrupt is not a stop request
                    }
                }
                woken = false;
            }
            if (!running.get()) {
                continue;
            }
            try {
                // On every wake-up, pressure or not: the shrinkers' deferred work (buffered LRU moves) is applied
                // here rather than by the threads that record it.
                registry.applyDeferred();
                if (pool.freePages() >= low) {
                    continue;
                }
                wakeups.increment();
                while (running.get() && pool.freePages() < high) {
                    long got = registry.reclaim(high - pool.freePages(), true, true); // holds no lock: may block
                    if (got <= 0) {
                        break;
                    }
                    reclaimed.add(got);
                }
            } catch (Throwable e) {
                // The daemon serves every later low-watermark wake: whatever a shrinker throws (an Error included)
                // is logged and counted, never allowed to end the thread while the reclaimer reports running.
                failures.increment();
                LOG.warn("background reclaim failed", e);
            }
        }
    }
}
