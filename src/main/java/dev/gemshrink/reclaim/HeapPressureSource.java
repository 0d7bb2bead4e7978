package dev.gemshrink.reclaim;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryNotificationInfo;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pressure source from the JVM heap: asks for a usage threshold on each heap memory pool that supports one and,
 * when the JVM notifies that a pool's usage reached it, runs reclaim through the registry (so JVM users can give
 * buffers back before the heap runs out). Where no heap pool supports thresholds it logs that and does nothing.
 *
 * <p>A pool has one usage threshold for the whole JVM, so sources do not set it themselves: they register with one
 * process-wide {@link Thresholds}, which arms the lowest threshold asked for and tells each source when the usage
 * reported by a notification reached its own. Closing a source re-arms the pools for the sources left; closing the
 * last restores the threshold the JVM had before.
 *
 * <p>The reclaim never runs on the JVM's notification thread (one per process, shared by every listener): the
 * listener only hands the work to this source's own daemon thread, one reclaim at a time, notifications arriving
 * meanwhile coalesced into one more. Whatever that reclaim throws is logged and counted ({@link #failures()}) and
 * the source keeps serving later notifications; an Error too: the registry has restored its own state before it
 * propagates, this thread is the top of the reclaim's stack with no caller to hand it to, and stopping the source
 * would only take away the reclaim that can relieve the heap (an OutOfMemoryError being the likeliest Error here).
 */
public final class HeapPressureSource implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HeapPressureSource.class);

    private final ShrinkerRegistry registry;
    private final long pagesPerEvent;
    private final Thresholds thresholds;
    private final Thresholds.Arming arming; // null when no pool takes a threshold
    private final ThreadPoolExecutor worker; // runs one reclaim at a time; shut down when inactive
    private volatile Thread workerThread; // the worker's thread (at most one at a time)
    private final AtomicBoolean pending = new AtomicBoolean(); // a reclaim is queued and not yet started
    private final AtomicBoolean closed = new AtomicBoolean();
    private final LongAdder events = new LongAdder();
    private final LongAdder failures = new LongAdder();

    /**
     * Asks for thresholds at {@code fraction} of each heap pool's maximum.
     *
     * @param registry      the shrinkers to run
     * @param fraction      usage fraction (0, 1] that triggers reclaim
     * @param pagesPerEvent pages to reclaim per notification, at least 1
     * @throws GemException EINVAL when {@code fraction} or {@code pagesPerEvent} is out of range
     */
    public HeapPressureSource(ShrinkerRegistry registry, double fraction, long pagesPerEvent) {
        this(registry, fraction, pagesPerEvent, Thresholds.jvm());
    }

    /** Creates a source armed with {@code thresholds} (the JVM's, or a test's fake pools). */
    HeapPressureSource(ShrinkerRegistry registry, double fraction, long pagesPerEvent, Thresholds thresholds) {
        Objects.requireNonNull(registry, "registry");
        if (!(fraction > 0 && fraction <= 1)) {
            throw new GemException(Errno.EINVAL, "heap pressure fraction must be in (0, 1]: " + fraction);
        }
        if (pagesPerEvent < 1) {
            throw new GemException(Errno.EINVAL, "heap pressure pages per event must be >= 1: " + pagesPerEvent);
        }
        this.registry = registry;
        this.pagesPerEvent = pagesPerEvent;
        this.thresholds = thresholds;
        // Threads start on the first reclaim and end after a minute idle.
        this.worker = new ThreadPoolExecutor(1, 1, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "gemshrink-heap-reclaim");
            t.setDaemon(true);
            workerThread = t;
            return t;
        });
        worker.allowCoreThreadTimeOut(true);
        Thresholds.Arming a;
        try {
            a = thresholds.arm(fraction, this::onThresholdExceeded);
        } catch (Throwable t) {
            worker.shutdown();
            throw t;
        }
        this.arming = a;
        if (a == null) {
            worker.shutdown();
            LOG.info("heap pressure source skipped: no heap memory pool supports usage thresholds here");
        }
    }

    /**
     * Returns whether this source has thresholds armed: true from creation (when a heap pool takes a threshold)
     * until {@link #close()}.
     *
     * @return true when the source is active
     */
    public boolean isActive() {
        return arming != null && !closed.get();
    }

    /**
     * Returns the threshold notifications this source was told of.
     *
     * @return notification count
     */
    public long events() {
        return events.sum();
    }

    /**
     * Returns the reclaims that threw (each logged).
     *
     * @return failed reclaim count
     */
    public long failures() {
        return failures.sum();
    }

    /** On the JVM's notification thread: hand the reclaim to this source's thread, never run it here. */
    private void onThresholdExceeded() {
        events.increment();
        if (pending.compareAndSet(false, true)) {
            try {
                worker.execute(this::reclaim);
            } catch (Throwable t) {
                pending.set(false); // nothing queued: the next notification tries again
                if (!(t instanceof RejectedExecutionException)) { // rejected: closed meanwhile
                    throw t;
                }
            }
        }
    }

    private void reclaim() {
        pending.set(false); // a notification from now on queues one more reclaim
        try {
            long freed = registry.reclaim(pagesPerEvent, true);
            LOG.debug("heap usage threshold crossed: reclaimed {} pages", freed);
        } catch (Throwable t) {
            failures.increment();
            if (t instanceof Error) {
                LOG.error("heap-triggered reclaim failed with an error; the source keeps running", t);
            } else {
                LOG.warn("heap-triggered reclaim failed", t);
            }
        }
    }

    /**
     * Withdraws this source's thresholds (the pools are re-armed for the other sources) and waits (up to 10
     * seconds, unless called from that reclaim itself) for a reclaim already running to finish, without
     * interrupting it: an interrupt would close any {@code FileChannel} it is writing swap to, for good.
     * Idempotent.
     */
    @Override
    public void close() {
        if (arming == null || !closed.compareAndSet(false, true)) {
            return;
        }
        try {
            thresholds.disarm(arming);
        } finally {
            worker.shutdown(); // a reclaim queued but not started is still run
            if (Thread.currentThread() != workerThread) {
                awaitWorker();
            }
        }
    }

    private void awaitWorker() {
        try {
            if (!worker.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("heap-triggered reclaim still running 10 s after close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The heap usage thresholds of one JVM, shared by all its sources: for each pool it arms the lowest threshold
     * any live source asks for (or the one found there, if lower: it belongs to someone else in the process), and
     * one listener tells each source when a notification's usage reached that source's own threshold. The JVM
     * notifies once per crossing of the armed threshold, so a source with a higher threshold is told only when the
     * usage reported then is already at its threshold.
     */
    static final class Thresholds {
        private final List<MemoryPoolMXBean> pools;
        private final NotificationEmitter emitter;
        private final NotificationListener listener = this::onNotification;
        // Guarded by this: the live armings (also published, immutable, for the listener), the threshold found
        // on each pool before this armed it (or set by someone else since), what this last set, the listener.
        private volatile List<Arming> live = List.of();
        private final long[] foreign;
        private final long[] ours;
        private boolean listening;

        /**
         * Creates the thresholds of some pools.
         *
         * @param pools   memory pools; those that are heap pools and take a usage threshold are used
         * @param emitter where the pools' threshold notifications come from
         */
        Thresholds(List<MemoryPoolMXBean> pools, NotificationEmitter emitter) {
            this.pools = pools.stream()
                    .filter(p -> p.getType() == MemoryType.HEAP && p.isUsageThresholdSupported())
                    .collect(Collectors.toUnmodifiableList());
            this.emitter = emitter;
            this.foreign = new long[this.pools.size()];
            this.ours = new long[this.pools.size()];
            Arrays.fill(ours, -1);
        }

        /** Returns the one instance for this JVM's heap. */
        static Thresholds jvm() {
            return Jvm.INSTANCE;
        }

        /** Holds the JVM's instance, created on first use. */
        private static final class Jvm {
            static final Thresholds INSTANCE = new Thresholds(ManagementFactory.getMemoryPoolMXBeans(),
                    (NotificationEmitter) ManagementFactory.getMemoryMXBean());
        }

        /** One source's thresholds, per pool (0: none on that pool), and what to run when one is reached. */
        static final class Arming {
            private final long[] own;
            private final Runnable onExceeded;

            private Arming(long[] own, Runnable onExceeded) {
                this.own = own;
                this.onExceeded = onExceeded;
            }
        }

        /**
         * Adds a source's thresholds at {@code fraction} of each pool's maximum and re-arms the pools.
         *
         * @param fraction   usage fraction (0, 1]
         * @param onExceeded run on the notification thread when a notification's usage reached this threshold;
         *                   must be quick and is expected not to throw
         * @return the arming, or null when no pool takes a threshold
         */
        synchronized Arming arm(double fraction, Runnable onExceeded) {
            long[] own = new long[pools.size()];
            boolean any = false;
            for (int i = 0; i < own.length; i++) {
                long max = pools.get(i).getUsage().getMax();
                if (max > 0) {
                    own[i] = Math.max(1, (long) (max * fraction)); // 0 would disable the threshold
                    any = true;
                }
            }
            if (!any) {
                return null;
            }
            Arming a = new Arming(own, onExceeded);
            List<Arming> next = new ArrayList<>(live);
            next.add(a);
            apply(next);
            if (!listening) {
                try {
                    emitter.addNotificationListener(listener, null, null);
                } catch (Throwable t) {
                    apply(live);
                    throw t;
                }
                listening = true;
            }
            live = List.copyOf(next);
            return a;
        }

        /**
         * Removes a source's thresholds and re-arms the pools for the rest (restores the previous thresholds after
         * the last). Idempotent.
         *
         * @param a what {@link #arm} returned
         */
        synchronized void disarm(Arming a) {
            if (!live.contains(a)) {
                return;
            }
            List<Arming> next = new ArrayList<>(live);
            next.remove(a);
            try {
                apply(next);
            } finally {
                // Even when a pool refused its threshold back, the source is gone: never tell it again.
                live = List.copyOf(next);
                if (next.isEmpty() && listening) {
                    listening = false;
                    try {
                        emitter.removeNotificationListener(listener);
                    } catch (ListenerNotFoundException e) {
                        LOG.debug("heap threshold listener already removed", e);
                    }
                }
            }
        }

        /** Sets each pool to the lowest threshold of {@code next} (the previous one when empty); all or nothing. */
        private void apply(List<Arming> next) {
            long[] foreignBefore = foreign.clone();
            long[] oursBefore = ours.clone();
            long[] found = new long[pools.size()];
            int done = 0;
            try {
                for (; done < pools.size(); done++) {
                    MemoryPoolMXBean p = pools.get(done);
                    long current = p.getUsageThreshold();
                    found[done] = current;
                    if (current != ours[done]) {
                        foreign[done] = current; // not what this set: someone else's (or the JVM's before us)
                    }
                    long target = foreign[done] > 0 ? foreign[done] : Long.MAX_VALUE;
                    for (Arming a : next) {
                        if (a.own[done] > 0) {
                            target = Math.min(target, a.own[done]);
                        }
                    }
                    if (target == Long.MAX_VALUE) {
                        target = foreign[done];
                    }
                    if (target != current) {
                        p.setUsageThreshold(target);
                    }
                    ours[done] = next.isEmpty() ? -1 : target;
                }
            } catch (Throwable t) {
                for (int i = 0; i < done; i++) {
                    try {
                        pools.get(i).setUsageThreshold(found[i]);
                    } catch (Throwable e) {
                        t.addSuppressed(e);
                    }
                }
                System.arraycopy(foreignBefore, 0, foreign, 0, foreign.length);
                System.arraycopy(oursBefore, 0, ours, 0, ours.length);
                throw t;
            }
        }

        /**
         * On the JVM's notification thread, which must never see a throw: the JDK turns a listener's Exception
         * into an AssertionError that ends the delivery to the other listeners of the process.
         */
        private void onNotification(Notification n, Object handback) {
            try {
                if (!MemoryNotificationInfo.MEMORY_THRESHOLD_EXCEEDED.equals(n.getType())) {
                    return;
                }
                MemoryNotificationInfo info = MemoryNotificationInfo.from((CompositeData) n.getUserData());
                for (int i = 0; i < pools.size(); i++) {
                    if (pools.get(i).getName().equals(info.getPoolName())) {
                        long used = info.getUsage().getUsed();
                        for (Arming a : live) {
                            if (a.own[i] > 0 && used >= a.own[i]) {
                                tell(a);
                            }
                        }
                    }
                }
            } catch (Throwable t) {
                LOG.error("heap threshold notification not handled", t);
            }
        }

        private static void tell(Arming a) {
            try {
                a.onExceeded.run();
            } catch (Throwable t) { // the other sources are still told
                LOG.error("heap threshold notification not handed to a source", t);
            }
        }
    }
}
