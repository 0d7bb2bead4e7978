package dev.gemshrink.sim;

import dev.gemshrink.core.Madv;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.sim.SimDriver.Bo;
import dev.gemshrink.sim.SimDriver.Client;
import dev.gemshrink.sim.SimDriver.Job;
import dev.gemshrink.sim.SimDriver.Use;
import dev.gemshrink.sim.SimDriver.Work;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;

/**
 * A browser: several tabs, each a client with its own GPU address space and a Mesa-like BO cache. A tab allocates
 * surfaces from its cache (madvise WILLNEED: if the BO was purged meanwhile, retained is false and the tab frees it
 * and allocates a new one; if not, its old bytes must still be there), paints with GPU jobs, releases surfaces back
 * to the cache (madvise DONTNEED, so the shrinker may purge them), trims old cache entries, and now and then goes
 * idle: its surfaces go cold, are evicted to swap, and are verified byte for byte when the tab wakes up.
 */
final class BrowserWorker extends SimWorker {
    private static final int TABS = 3;
    private static final long[] BUCKETS = {64 << 10, 256 << 10, 1 << 20};
    private static final int CACHE_AGE = 400;

    private final List<Tab> tabs = new ArrayList<>();
    private final long tabBudget;
    private long steps;
    private long stamps;

    /** A surface: a BO and the stamp of the pattern it holds. */
    private static final class Surface {
        final Bo bo;
        long stamp;
        long cachedAt;

        Surface(Bo bo, long stamp) {
            this.bo = bo;
            this.stamp = stamp;
        }
    }

    /** A tab: a client, its live surfaces and its BO cache (DONTNEED, newest last). */
    private static final class Tab {
        final Client client;
        final String name;
        final List<Surface> live = new ArrayList<>();
        final Deque<Surface> cache = new ArrayDeque<>();
        long idle;
        long made;

        Tab(Client client, String name) {
            this.client = client;
            this.name = name;
        }

        long liveBytes() {
            long n = 0;
            for (Surface s : live) {
                n += s.bo.size();
            }
            return n;
        }
    }

    BrowserWorker(SimContext ctx, Random rnd, int index) {
        super(ctx, rnd, "browser-" + index);
        for (int t = 0; t < TABS; t++) {
            String name = id + ".tab" + t;
            tabs.add(new Tab(openClient(name), name));
        }
        // Together the tabs want about 1.5 times the RAM, so idle tabs get evicted and caches purged.
        this.tabBudget = Math.max(1 << 20, ctx.config.ramBytes() * 3 / 2 / ((long) ctx.config.threads() * TABS));
    }

    private long nextStamp() {
        return ((long) id.hashCode() << 32) ^ ++stamps;
    }

    @Override
    void step() {
        steps++;
        Tab tab = tabs.get(rnd.nextInt(tabs.size()));
        if (tab.idle > 0) {
            if (--tab.idle == 0) {
                for (Surface s : tab.live) {
                    verifyPattern(s.bo, s.stamp, 0, (int) s.bo.size());
                }
            }
            return;
        }
        trim(tab);
        int r = rnd.nextInt(100);
        if (r < 35) {
            if (tab.liveBytes() < tabBudget) {
                allocate(tab);
            } else {
                release(tab);
            }
        } else if (r < 70) {
            paint(tab);
        } else if (r < 90) {
            release(tab);
        } else if (r < 95 && !tab.live.isEmpty()) {
            Surface s = tab.live.remove(rnd.nextInt(tab.live.size()));
            close(tab.client, s.bo);
        } else if (r >= 97) {
            tab.idle = 20 + rnd.nextInt(120); // the user switched to another tab
        }
    }

    private void allocate(Tab tab) {
        long size = BUCKETS[rnd.nextInt(BUCKETS.length)];
        Surface s = null;
        for (Surface c : tab.cache) {
            if (c.bo.size() == size) {
                s = c;
            }
        }
        if (s != null) {
            tab.cache.remove(s);
            Boolean retained = madvise(tab.client, s.bo, Madv.WILLNEED);
            if (retained == null) {
                close(tab.client, s.bo);
                s = null;
            } else if (!retained) {
                ctx.cachePurged.increment();
                close(tab.client, s.bo);
                s = null;
            } else if (!verifyPattern(s.bo, s.stamp, 0, (int) size)) {
                close(tab.client, s.bo); // a retained BO must keep its bytes
                s = null;
            }
        }
        if (s == null) {
            Bo bo = create(tab.client, tab.name + ".s" + tab.made++, size, Use.DATA);
            if (bo == null) {
                dropCache(tab); // out of memory: give the cache back, like Mesa on ENOMEM
                return;
            }
            s = new Surface(bo, 0);
        }
        s.stamp = nextStamp();
        if (writePattern(s.bo, s.stamp, 0, (int) size)) {
            tab.live.add(s);
        } else {
            close(tab.client, s.bo);
        }
    }

    private void paint(Tab tab) {
        if (tab.live.isEmpty()) {
            allocate(tab);
            return;
        }
        Surface src = tab.live.get(rnd.nextInt(tab.live.size()));
        Surface dst = tab.live.get(rnd.nextInt(tab.live.size()));
        long srcVa = src.bo.va();
        long dstVa = dst.bo.va();
        long srcStamp = src.stamp;
        long dstStamp = dst.stamp;
        long srcPage = rnd.nextInt((int) (src.bo.size() / PagePool.PAGE_SIZE)) * (long) PagePool.PAGE_SIZE;
        long dstPage = rnd.nextInt((int) (dst.bo.size() / PagePool.PAGE_SIZE)) * (long) PagePool.PAGE_SIZE;
        String srcName = src.bo.name();
        SimContext c = ctx;
        // Reads one page of src and repaints one page of dst with the bytes dst already holds: a wrong or stale GPU
        // mapping would read garbage or scribble over another BO, and the checks catch both.
        Work work = g -> {
            gpuVerify(c, g, srcName, srcVa, srcStamp, srcPage, PagePool.PAGE_SIZE);
            gpuWrite(g, dstVa, dstStamp, dstPage, PagePool.PAGE_SIZE);
        };
        Job job = submit(tab.client, tab.name + ".paint" + steps, List.of(src.bo, dst.bo), work);
        if (job != null) {
            ctx.await(job);
        }
    }

    private void release(Tab tab) {
        if (tab.live.isEmpty()) {
            return;
        }
        Surface s = tab.live.remove(rnd.nextInt(tab.live.size()));
        Boolean retained = madvise(tab.client, s.bo, Madv.DONTNEED);
        if (retained == null || !retained) {
            close(tab.client, s.bo);
            return;
        }
        s.cachedAt = steps;
        tab.cache.addLast(s);
    }

    /** Frees cache entries older than the cache's age limit (Mesa frees cached BOs after about a second). */
    private void trim(Tab tab) {
        while (!tab.cache.isEmpty() && steps - tab.cache.peekFirst().cachedAt > CACHE_AGE) {
            close(tab.client, tab.cache.pollFirst().bo);
        }
    }

    private void dropCache(Tab tab) {
        while (!tab.cache.isEmpty()) {
            close(tab.client, tab.cache.pollFirst().bo);
        }
    }
}
