package dev.gemshrink.sim;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakReport;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.reclaim.ReclaimPolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Replays object accesses against a core {@link GemDevice} of its own whose RAM is the cache's capacity: no swap, no
 * background reclaimer, one thread, so the only reclaim is the direct reclaim an allocation runs for what it lacks,
 * and the victims are the DONTNEED objects in the policy's order.
 *
 * <p>Each distinct id is one {@link ShmemObject} (the core object: a cache of plain buffers needs no GPU mapping). A
 * request is a <em>hit</em> when the object exists and {@code madvise(WILLNEED)} reports it retained: its first
 * byte is read, then it is marked DONTNEED again. Otherwise it is a <em>miss</em>: a purged object is freed (a leak
 * is an error), a new one of the request's size is created, its pages are taken with the stored sg table ({@code
 * getPagesSgt}, which is what puts a DONTNEED object on the purgeable list; the allocation's direct reclaim purges
 * victims), its first byte is written, and it is marked DONTNEED. A request for an object larger than the whole
 * capacity is a miss that caches nothing and reclaims nothing. An object's size is that of the request that created
 * it; a hit ignores the request's size.
 *
 * <p>The device is built with the given {@link ReclaimPolicy}, which orders the victims. Under {@link
 * ReclaimPolicy#lru()} the misses are those of an exact LRU cache of equal-size objects: every request ends with its
 * object at the tail of the purgeable list, and a one-page shortfall purges exactly the head.
 *
 * <p>Not thread-safe: one thread replays.
 */
public final class AccessTraceReplay implements AutoCloseable {
    private final ReclaimPolicy policy;
    private final int capacityPages;
    private final GemDevice device;
    private final Map<Long, ShmemObject> objects = new HashMap<>();
    private final byte[] readBack = new byte[1];
    private final byte[] written = {1};
    private long requests;
    private long misses;

    /**
     * Creates a replay on a new device.
     *
     * @param policy        the reclaim policy the device orders its victims by
     * @param capacityPages the RAM, in pages of 4 KiB
     * @throws dev.gemshrink.GemException EINVAL when capacityPages is not positive
     */
    public AccessTraceReplay(ReclaimPolicy policy, int capacityPages) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.capacityPages = capacityPages;
        this.device = GemDevice.builder().name("trace-" + policy.name()).ramPages(capacityPages).reclaimPolicy(policy)
                .build();
    }

    /**
     * Replays a whole trace on a new device, then frees every object and closes the device.
     *
     * @param trace         the requests
     * @param policy        the reclaim policy the device orders its victims by
     * @param capacityPages the RAM, in pages of 4 KiB
     * @return the counts
     * @throws dev.gemshrink.GemException EINVAL when capacityPages is not positive
     */
    public static AccessTraceResult run(AccessTrace trace, ReclaimPolicy policy, int capacityPages) {
        try (AccessTraceReplay r = new AccessTraceReplay(policy, capacityPages)) {
            for (int i = 0; i < trace.requests(); i++) {
                r.request(trace.id(i), trace.pages(i));
            }
            return r.result();
        }
    }

    /**
     * Replays one request.
     *
     * @param id    the object's id
     * @param pages the object's size in pages, used when the request creates it
     * @return true for a hit
     * @throws IllegalArgumentException when pages is not positive
     * @throws IllegalStateException    when freeing a purged object reports a leak
     */
    public boolean request(long id, int pages) {
        if (pages < 1) {
            throw new IllegalArgumentException("an object has at least 1 page, not " + pages);
        }
        ShmemObject bo = objects.get(id);
        if (bo != null && bo.madvise(Madv.WILLNEED)) {
            try {
                bo.read(0, readBack);
            } finally {
                bo.madvise(Madv.DONTNEED);
            }
            requests++;
            return true;
        }
        if (bo != null) {
            objects.remove(id);
            requireNoLeak(bo.free());
        }
        if (pages <= capacityPages) {
            objects.put(id, fetch(id, pages));
        }
        requests++;
        misses++;
        return false;
    }

    /** Creates the object, takes its pages and leaves it DONTNEED; on any failure it is freed again. */
    private ShmemObject fetch(long id, int pages) {
        ShmemObject fresh = device.createObject("id:" + id, (long) pages * PagePool.PAGE_SIZE);
        try {
            fresh.getPagesSgt();
            fresh.write(0, written);
            fresh.madvise(Madv.DONTNEED);
            return fresh;
        } catch (Throwable t) {
            try {
                fresh.free();
            } catch (Throwable suppressed) {
                t.addSuppressed(suppressed);
            }
            throw t;
        }
    }

    private static void requireNoLeak(LeakReport report) {
        if (!report.isEmpty()) {
            throw new IllegalStateException("freeing a purged object leaked: " + report);
        }
    }

    /**
     * Returns the counts so far.
     *
     * @return requests and misses under this replay's policy
     */
    public AccessTraceResult result() {
        return new AccessTraceResult(policy, requests, misses);
    }

    /**
     * Returns the device the objects live on (for checks between requests).
     *
     * @return the device
     */
    public GemDevice device() {
        return device;
    }

    /**
     * Frees every object and closes the device.
     *
     * @throws IllegalStateException when freeing an object reports a leak (the others are freed all the same)
     */
    @Override
    public void close() {
        List<String> leaks = new ArrayList<>();
        for (ShmemObject o : objects.values()) {
            LeakReport r = o.free();
            if (!r.isEmpty()) {
                leaks.add(r.toString());
            }
        }
        objects.clear();
        device.close();
        if (!leaks.isEmpty()) {
            throw new IllegalStateException("freeing the cached objects leaked: " + String.join("; ", leaks));
        }
    }
}
