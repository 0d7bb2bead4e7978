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
 * A compute job queue whose WILLNEED working set is larger than RAM (1.5 times it, over all workers): buffers are
 * created and filled, then repeatedly verified and rewritten, by the CPU or by GPU jobs. Touching a cold buffer
 * forces another one out to swap; every byte read back, on the CPU or the GPU, is checked against what was last
 * written.
 */
final class ComputeWorker extends SimWorker {
    private static final int CHUNK = 64 << 10;

    private final Client client;
    private final long bufBytes;
    private final int target;
    private final List<Bo> bufs = new ArrayList<>();
    private final List<Long> stamps = new ArrayList<>();
    private long made;
    private long stampSeq;

    ComputeWorker(SimContext ctx, Random rnd, int index) {
        super(ctx, rnd, "compute-" + index);
        long ram = ctx.config.ramBytes();
        this.bufBytes = clamp(ram / 32 / PagePool.PAGE_SIZE * PagePool.PAGE_SIZE, 256 << 10, 4 << 20);
        long workingSet = ram * 3 / 2 / ctx.config.threads();
        this.target = (int) Math.max(2, workingSet / bufBytes);
        this.client = openClient(id);
    }

    private long nextStamp() {
        return ((long) id.hashCode() << 32) ^ ++stampSeq;
    }

    @Override
    void step() {
        if (bufs.size() < target && made < 4L * target) {
            made++;
            Bo bo = create(client, id + ".buf" + made, bufBytes, Use.DATA);
            if (bo != null) {
                long stamp = nextStamp();
                if (writePattern(bo, stamp, 0, (int) bufBytes)) {
                    bufs.add(bo);
                    stamps.add(stamp);
                } else {
                    close(client, bo);
                }
            }
            return;
        }
        if (bufs.isEmpty()) {
            return;
        }
        int i = rnd.nextInt(bufs.size());
        int r = rnd.nextInt(100);
        if (r < 45) {
            // CPU: verify everything, then write a new generation.
            if (verifyPattern(bufs.get(i), stamps.get(i), 0, (int) bufBytes)) {
                rewrite(i);
            }
        } else {
            int j = r < 90 ? i : rnd.nextInt(bufs.size());
            gpu(i, j);
        }
    }

    private void rewrite(int i) {
        long stamp = nextStamp();
        if (writePattern(bufs.get(i), stamp, 0, (int) bufBytes)) {
            stamps.set(i, stamp);
        } else {
            drop(i);
        }
    }

    /** A GPU kernel: verifies all of buffer i and writes a new generation into buffer j (possibly i itself). */
    private void gpu(int i, int j) {
        Bo a = bufs.get(i);
        Bo b = bufs.get(j);
        long aVa = a.va();
        long bVa = b.va();
        long aStamp = stamps.get(i);
        long bStamp = nextStamp();
        String aName = a.name();
        int len = (int) bufBytes;
        SimContext c = ctx;
        Work work = g -> {
            for (int pos = 0; pos < len; pos += CHUNK) {
                gpuVerify(c, g, aName, aVa, aStamp, pos, Math.min(CHUNK, len - pos));
            }
            for (int pos = 0; pos < len; pos += CHUNK) {
                gpuWrite(g, bVa, bStamp, pos, Math.min(CHUNK, len - pos));
            }
        };
        Job job = submit(client, id + ".kernel" + stampSeq, i == j ? List.of(a) : List.of(a, b), work);
        if (job == null) {
            return;
        }
        if (ctx.await(job)) {
            stamps.set(j, bStamp);
        } else {
            rewrite(j); // the job stopped part way: its output is unknown, so write a known generation
        }
    }

    private void drop(int i) {
        close(client, bufs.get(i));
        bufs.remove(i);
        stamps.remove(i);
    }
}
