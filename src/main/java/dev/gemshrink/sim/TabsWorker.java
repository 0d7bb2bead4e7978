package dev.gemshrink.sim;

import dev.gemshrink.memory.PagePool;
import dev.gemshrink.sim.SimDriver.Bo;
import dev.gemshrink.sim.SimDriver.Client;
import dev.gemshrink.sim.SimDriver.Job;
import dev.gemshrink.sim.SimDriver.Use;
import dev.gemshrink.sim.SimDriver.Work;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A browser on the Panthor-like driver opening more and more tabs. Each tab is a client with a VM holding four to
 * six textures (every third one discard-on-reclaim, like decoded images the tab can decode again) and a tiler heap of
 * eight 64 KiB chunks. Every {@value #OPEN_EVERY} steps a tab opens; the other steps paint the newest tab, or one time
 * in four an older one. Painting submits a job on the tab's VM that reads one page of a texture (checking its
 * bytes), repaints a page of another and grows the tiler heap; an old tab's textures were evicted or discarded
 * meanwhile, and the submit brings them back (swap-in, or zero pages for a discarded one, which the tab then
 * uploads again from the CPU before painting). When the open tabs would hold more than three quarters of RAM plus
 * swap (the worker's share), the oldest tab is closed first.
 */
final class TabsWorker extends SimWorker {
    private static final int OPEN_EVERY = 12;
    private static final long HEAP_BYTES = 512L << 10;

    private final List<Tab> tabs = new ArrayList<>();
    private final long texBytes;
    private final long capBytes;
    private long steps;
    private long opened;
    private long stamps;

    /** A texture: its BO, the stamp of the bytes it holds, and the BO's discard count when they were written. */
    private static final class Texture {
        final Bo bo;
        final boolean discardable;
        long stamp;
        int seenDiscards;

        Texture(Bo bo, boolean discardable) {
            this.bo = bo;
            this.discardable = discardable;
        }
    }

    /** A tab: its client, textures and tiler heap. */
    private record Tab(Client client, String name, List<Texture> textures, Bo heap, long bytes) {
    }

    TabsWorker(SimContext ctx, Random rnd, int index) {
        super(ctx, rnd, "tabs-" + index);
        int threads = ctx.config.threads();
        this.texBytes = clamp(ctx.config.ramBytes() / (32L * threads) / PagePool.PAGE_SIZE * PagePool.PAGE_SIZE,
                64 << 10, 1 << 20);
        this.capBytes = (ctx.config.ramBytes() + ctx.config.swapBytes()) * 3 / 4 / threads;
    }

    private long nextStamp() {
        return ((long) id.hashCode() << 32) ^ ++stamps;
    }

    @Override
    void step() {
        steps++;
        if (tabs.isEmpty() || steps % OPEN_EVERY == 0) {
            openTab();
            return;
        }
        Tab tab = rnd.nextInt(4) > 0 || tabs.size() == 1 ? tabs.get(tabs.size() - 1)
                : tabs.get(rnd.nextInt(tabs.size() - 1));
        visit(tab);
    }

    private long openBytes() {
        long n = 0;
        for (Tab t : tabs) {
            n += t.bytes();
        }
        return n;
    }

    private void openTab() {
        int n = 4 + rnd.nextInt(3);
        long bytes = n * texBytes + HEAP_BYTES;
        while (!tabs.isEmpty() && openBytes() + bytes > capBytes) {
            closeClient(tabs.remove(0).client());
        }
        String name = id + ".tab" + opened++;
        Client client = openClient(name);
        List<Texture> textures = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            boolean discardable = k % 3 == 2;
            Bo bo = create(client, name + ".tex" + k, texBytes, discardable ? Use.SCRATCH : Use.DATA);
            Texture t = bo == null ? null : new Texture(bo, discardable);
            if (t == null || !upload(t)) {
                closeClient(client); // out of memory: the tab does not open
                return;
            }
            textures.add(t);
        }
        Bo heap = create(client, name + ".heap", HEAP_BYTES, Use.HEAP);
        if (heap == null) {
            closeClient(client);
            return;
        }
        Tab tab = new Tab(client, name, textures, heap, bytes);
        tabs.add(tab);
        ctx.tabsOpened.increment();
        paint(tab);
    }

    /**
     * Writes a texture's bytes from the CPU (a first upload, or again after a discard). When the write fails (ENOMEM)
     * its bytes are unknown: it is marked for another upload at the next visit.
     */
    private boolean upload(Texture t) {
        t.seenDiscards = t.bo.discards();
        t.stamp = nextStamp();
        if (writePattern(t.bo, t.stamp, 0, (int) t.bo.size())) {
            return true;
        }
        t.seenDiscards = -1;
        return false;
    }

    /** Uploads the textures a reclaim discarded, then paints; a tab that cannot upload (ENOMEM) paints next time. */
    private void visit(Tab tab) {
        for (Texture t : tab.textures()) {
            if (t.discardable && t.bo.discards() != t.seenDiscards) {
                ctx.reuploads.increment();
                if (!upload(t)) {
                    return;
                }
            }
        }
        paint(tab);
    }

    /**
     * A job on the tab's VM: reads one page of a texture, repaints a page of another with the bytes it holds, and
     * grows the tiler heap to a random depth; then the worker checks the page read. A discardable texture discarded
     * after the tab looked at it reads as zeros; that is no failure (the tab uploads it again at its next visit).
     */
    private void paint(Tab tab) {
        Texture src = tab.textures().get(rnd.nextInt(tab.textures().size()));
        Texture dst = tab.textures().get(rnd.nextInt(tab.textures().size()));
        int pages = (int) (texBytes / PagePool.PAGE_SIZE);
        long srcPage = (long) rnd.nextInt(pages) * PagePool.PAGE_SIZE;
        long dstPage = (long) rnd.nextInt(pages) * PagePool.PAGE_SIZE;
        long heapAt = (long) (rnd.nextDouble() * HEAP_BYTES);
        long srcVa = src.bo.va();
        long dstVa = dst.bo.va();
        long dstStamp = dst.stamp;
        Bo heap = tab.heap();
        byte[] page = new byte[PagePool.PAGE_SIZE]; // written by the job, read after it finished
        Work work = g -> {
            g.read(srcVa + srcPage, page);
            gpuWrite(g, dstVa, dstStamp, dstPage, PagePool.PAGE_SIZE);
            g.growHeap(heap, heapAt);
        };
        Job job = submit(tab.client(), tab.name() + ".paint" + steps, List.of(heap, src.bo, dst.bo), work);
        if (job == null || !ctx.await(job) && job.outcome() != SimDriver.Outcome.INCREMENTAL_RENDERING) {
            return; // faulted (counted) or stuck: the page is unknown; incremental rendering read it first
        }
        int bad = Patterns.mismatch(page, src.stamp, srcPage);
        boolean discarded = src.discardable && src.bo.discards() != src.seenDiscards && isZero(page);
        if (bad >= 0 && !discarded) {
            ctx.integrityFailure(src.bo.name() + ": GPU read of byte " + (srcPage + bad) + " does not match what was"
                    + " written");
        }
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
