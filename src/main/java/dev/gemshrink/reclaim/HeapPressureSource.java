package dev.gemshrink.reclaim;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryNotificationInfo;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pressure source from the JVM heap: sets a usage threshold on each heap memory pool that supports one and, when
 * the JVM notifies that a pool crossed it, runs reclaim through the registry (so JVM users can give buffers back
 * before the heap runs out). Where no heap pool supports thresholds it logs that and does nothing.
 */
public final class HeapPressureSource implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HeapPressureSource.class);

    private final ShrinkerRegistry registry;
    private final long pagesPerEvent;
    private final List<MemoryPoolMXBean> armed = new ArrayList<>();
    private final LongAdder events = new LongAdder();
    private final NotificationListener listener = this::onNotification;
    private final NotificationEmitter emitter;

    /**
     * Arms thresholds at {@code fraction} of each heap pool's maximum.
     *
     * @param registry      the shrinkers to run
     * @param fraction      usage fraction (0, 1] that triggers reclaim
     * @param pagesPerEvent pages to reclaim per notification
     */
    public HeapPressureSource(ShrinkerRegistry registry, double fraction, long pagesPerEvent) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("fraction must be in (0, 1]: " + fraction);
        }
        this.registry = registry;
        this.pagesPerEvent = pagesPerEvent;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            long max = p.getUsage().getMax();
            if (p.getType() == MemoryType.HEAP && p.isUsageThresholdSupported() && max > 0) {
                p.setUsageThreshold((long) (max * fraction));
                armed.add(p);
            }
        }
        this.emitter = (NotificationEmitter) ManagementFactory.getMemoryMXBean();
        if (armed.isEmpty()) {
            LOG.info("heap pressure source skipped: no heap memory pool supports usage thresholds here");
        } else {
            emitter.addNotificationListener(listener, null, null);
        }
    }

    /**
     * Returns whether any heap pool was armed.
     *
     * @return true when the source is active
     */
    public boolean isActive() {
        return !armed.isEmpty();
    }

    /**
     * Returns the threshold notifications received.
     *
     * @return notification count
     */
    public long events() {
        return events.sum();
    }

    private void onNotification(Notification n, Object handback) {
        if (MemoryNotificationInfo.MEMORY_THRESHOLD_EXCEEDED.equals(n.getType())) {
            events.increment();
            long freed = registry.reclaim(pagesPerEvent, true);
            LOG.debug("heap usage threshold crossed: reclaimed {} pages", freed);
        }
    }

    /** Removes the listener and disarms the thresholds. */
    @Override
    public void close() {
        if (armed.isEmpty()) {
            return;
        }
        try {
            emitter.removeNotificationListener(listener);
        } catch (ListenerNotFoundException e) {
            LOG.debug("listener already removed", e);
        }
        for (MemoryPoolMXBean p : armed) {
            p.setUsageThreshold(0);
        }
        armed.clear();
    }
}
