package dev.gemshrink.sim;

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
 * A glmark2-like benchmark: each frame creates a handful of short-lived vertex and uniform BOs, fills them from
 * the CPU, submits a job that reads them and a texture on the GPU, renders into a render target and spills into a
 * heap BO (which grows chunk by chunk through GPU faults), and closes the short-lived BOs at once (the job keeps
 * them alive until it finishes). The CPU reads the rendered bytes back. Every 40 frames a new scene starts: a new
 * heap and one new texture. Textures are WILLNEED and idle between uses, so they are evicted under pressure and
 * swapped back in by the next job that uses them.
 */
final class Glmark2Worker extends SimWorker {
    private static final int FRAMES_PER_SCENE = 40;
    private static final int TEXTURES = 4;
    private static final long SZ_2M = 2L << 20;

    private final Client client;
    private final long texBytes;
    private final long heapBytes;
    private final long maxTransient;
    private final Bo[] textures = new Bo[TEXTURES];
    private final long[] texStamps = new long[TEXTURES];
    private final Deque<Frame> inFlight = new ArrayDeque<>();
    private Bo shader;
    private Bo rt;
    private Bo heap;
    private long heapStamp;
    private long frame;
    private long stamps;

    private record Frame(Job job, long rtOffset, long stamp) {
    }

    Glmark2Worker(SimContext ctx, Random rnd, int index) {
        super(ctx, rnd, "glmark2-" + index);
        long perThread = ctx.config.ramBytes() / ctx.config.threads();
        this.texBytes = clamp(perThread / 6 / PagePool.PAGE_SIZE * PagePool.PAGE_SIZE, 64 << 10, 4 << 20);
        this.heapBytes = clamp(perThread / 3 / SZ_2M * SZ_2M, SZ_2M, 16 << 20);
        this.maxTransient = clamp(perThread / 64, 16 << 10, 256 << 10);
        this.client = openClient(id);
    }

    private long nextStamp() {
        return ((long) id.hashCode() << 32) ^ ++stamps;
    }

    @Override
    void step() {
        if (shader == null) {
            shader = create(client, id + ".shader", 64 << 10, Use.CODE);
        }
        if (rt == null) {
            rt = create(client, id + ".rt", 256 << 10, Use.DATA);
        }
        if (frame % FRAMES_PER_SCENE == 0) {
            newScene();
        }
        frame++;
        if (shader == null || rt == null) {
            return; // out of memory: try again next frame
        }
        List<Bo> bos = new ArrayList<>(List.of(shader, rt));
        List<Bo> transients = new ArrayList<>();
        List<long[]> reads = new ArrayList<>(); // va, stamp, pos, len
        List<String> names = new ArrayList<>();
        int n = 2 + rnd.nextInt(5);
        for (int k = 0; k < n; k++) {
            long size = pages(4096, maxTransient);
            Bo t = create(client, id + ".f" + frame + ".v" + k, size, Use.DATA);
            if (t == null) {
                continue;
            }
            long stamp = nextStamp();
            int len = (int) Math.min(size, 16 << 10);
            if (writePattern(t, stamp, 0, len)) {
                transients.add(t);
                reads.add(new long[] {t.va(), stamp, 0, len});
                names.add(t.name());
            } else {
                close(client, t);
            }
        }
        bos.addAll(transients);
        int ti = rnd.nextInt(TEXTURES);
        if (textures[ti] != null) {
            Bo tex = textures[ti];
            long page = rnd.nextInt((int) (tex.size() / PagePool.PAGE_SIZE));
            bos.add(tex);
            reads.add(new long[] {tex.va(), texStamps[ti], page * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE});
            names.add(tex.name());
        }
        long rtVa = rt.va();
        long rtOffset = (frame % (rt.size() / PagePool.PAGE_SIZE)) * PagePool.PAGE_SIZE;
        long rtStamp = nextStamp();
        long heapVa = -1;
        long[] heapOffsets = new long[0];
        if (heap != null) {
            bos.add(heap);
            heapVa = heap.va();
            long level = Math.min(heap.size() / SZ_2M, 1 + (frame % FRAMES_PER_SCENE) / 6);
            heapOffsets = new long[1 + rnd.nextInt(2)];
            for (int k = 0; k < heapOffsets.length; k++) {
                heapOffsets[k] = (long) (rnd.nextDouble() * level * SZ_2M) & ~63L;
            }
        }
        long hVa = heapVa;
        long[] hOff = heapOffsets;
        long hStamp = heapStamp;
        Bo hHeap = heap;
        SimContext c = ctx;
        Work work = g -> {
            for (int k = 0; k < reads.size(); k++) {
                long[] r = reads.get(k);
                gpuVerify(c, g, names.get(k), r[0], r[1], r[2], (int) r[3]);
            }
            gpuWrite(g, rtVa, rtStamp, rtOffset, PagePool.PAGE_SIZE);
            for (long off : hOff) {
                if (g.growHeap(hHeap, off)) {
                    gpuWrite(g, hVa, hStamp, off, 64);
                    gpuVerify(c, g, "heap", hVa, hStamp, off, 64);
                }
            }
        };
        Job job = submit(client, id + ".frame" + frame, bos, work);
        for (Bo t : transients) {
            close(client, t); // the job holds them until it finishes
        }
        if (job != null) {
            inFlight.add(new Frame(job, rtOffset, rtStamp));
        }
        while (inFlight.size() > (ctx.config.deterministic() ? 0 : 1)) {
            finish(inFlight.poll());
        }
        if (heap != null && frame % 8 == 4) {
            fault(client, heap, (long) (rnd.nextDouble() * heap.size()));
        }
    }

    private void finish(Frame f) {
        if (ctx.await(f.job())) {
            verifyPattern(rt, f.stamp(), f.rtOffset(), PagePool.PAGE_SIZE);
        }
    }

    private void newScene() {
        quiesce();
        if (heap != null) {
            close(client, heap);
            heap = null;
        }
        heap = create(client, id + ".heap" + frame, heapBytes, Use.HEAP);
        heapStamp = nextStamp();
        int replace = (int) ((frame / FRAMES_PER_SCENE) % TEXTURES);
        for (int i = 0; i < TEXTURES; i++) {
            if (textures[i] != null && i != replace) {
                continue;
            }
            if (textures[i] != null) {
                close(client, textures[i]);
                textures[i] = null;
            }
            Bo tex = create(client, id + ".tex" + frame + "." + i, texBytes, Use.DATA);
            long stamp = nextStamp();
            if (tex != null && writePattern(tex, stamp, 0, (int) texBytes)) {
                textures[i] = tex;
                texStamps[i] = stamp;
            } else if (tex != null) {
                close(client, tex);
            }
        }
    }

    @Override
    void quiesce() {
        while (!inFlight.isEmpty()) {
            finish(inFlight.poll());
        }
    }
}
