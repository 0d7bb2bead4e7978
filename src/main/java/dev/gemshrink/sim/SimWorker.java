package dev.gemshrink.sim;

import dev.gemshrink.GemException;
import dev.gemshrink.core.Madv;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.sim.SimDriver.Bo;
import dev.gemshrink.sim.SimDriver.Client;
import dev.gemshrink.sim.SimDriver.Gpu;
import dev.gemshrink.sim.SimDriver.Job;
import dev.gemshrink.sim.SimDriver.Use;
import dev.gemshrink.sim.SimDriver.Work;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One simulated application, driven by one worker thread (or, in deterministic mode, by the only thread). A
 * workload subclass implements {@link #step()}; the helpers here make each driver call, count it as an operation,
 * and classify its failures (ENOMEM is expected under pressure; anything else the workload did not expect is a
 * violation; wrong bytes are integrity failures).
 */
abstract class SimWorker {
    final SimContext ctx;
    final Random rnd;
    final String id;
    private final List<Client> clients = new ArrayList<>();

    SimWorker(SimContext ctx, Random rnd, String id) {
        this.ctx = ctx;
        this.rnd = rnd;
        this.id = id;
    }

    /** Does one unit of the workload (a frame, a tab action, a compute step): a few driver calls. */
    abstract void step();

    /** Waits for this worker's jobs still in flight. */
    void quiesce() {
    }

    /** Closes every client of this worker (and so every handle it holds). */
    final void closeAll() {
        quiesce();
        for (Client c : clients) {
            c.close();
        }
        clients.clear();
    }

    final Client openClient(String name) {
        ctx.op();
        Client c = ctx.dev.openClient(name);
        clients.add(c);
        return c;
    }

    /** Closes one client of this worker (its jobs finish, its handles are closed). */
    final void closeClient(Client c) {
        ctx.op();
        clients.remove(c);
        c.close();
    }

    /** Creates a BO; null on ENOMEM. */
    final Bo create(Client c, String name, long size, Use use) {
        ctx.op();
        try {
            Bo bo = c.create(name, size, use);
            if (!bo.isHeap()) {
                ctx.pagesAllocated.add(bo.size() / PagePool.PAGE_SIZE);
            }
            return bo;
        } catch (GemException e) {
            ctx.failed("create " + name, e);
            return null;
        }
    }

    final void close(Client c, Bo bo) {
        ctx.op();
        try {
            c.close(bo);
        } catch (GemException e) {
            ctx.failed("close " + bo.name(), e);
        }
    }

    /** The madvise ioctl; null when it failed. */
    final Boolean madvise(Client c, Bo bo, Madv advice) {
        ctx.op();
        try {
            return c.madvise(bo, advice);
        } catch (GemException e) {
            ctx.failed("madvise " + bo.name(), e);
            return null;
        }
    }

    /** Submits a job (not held); null on ENOMEM. */
    final Job submit(Client c, String name, List<Bo> bos, Work work) {
        ctx.op();
        try {
            Job j = c.submit(name, bos, work);
            ctx.jobs.increment();
            return j;
        } catch (GemException e) {
            ctx.failed("submit " + name, e);
            return null;
        }
    }

    /** The heap-fault path called directly; false when it failed. */
    final boolean fault(Client c, Bo heap, long offset) {
        ctx.op();
        try {
            if (c.fault(heap, offset)) {
                ctx.explicitFaults.increment();
            }
            return true;
        } catch (GemException e) {
            ctx.failed("fault " + heap.name(), e);
            return false;
        }
    }

    /** Writes the pattern of {@code stamp} over {@code [pos, pos + len)}; false when it failed. */
    final boolean writePattern(Bo bo, long stamp, long pos, int len) {
        ctx.op();
        try {
            bo.write(pos, Patterns.fill(new byte[len], stamp, pos));
            return true;
        } catch (GemException e) {
            ctx.failed("write " + bo.name(), e);
            return false;
        }
    }

    /** Reads {@code [pos, pos + len)} and checks it holds the pattern of {@code stamp}; false on any failure. */
    final boolean verifyPattern(Bo bo, long stamp, long pos, int len) {
        ctx.op();
        byte[] buf = new byte[len];
        try {
            bo.read(pos, buf);
        } catch (GemException e) {
            ctx.failed("read " + bo.name(), e);
            return false;
        }
        int bad = Patterns.mismatch(buf, stamp, pos);
        if (bad >= 0) {
            ctx.integrityFailure(bo.name() + ": CPU read of byte " + (pos + bad) + " does not match what was "
                    + "written");
            return false;
        }
        return true;
    }

    /** On the GPU: reads {@code [pos, pos + len)} of a BO mapped at {@code va} and checks the pattern. */
    static void gpuVerify(SimContext ctx, Gpu g, String name, long va, long stamp, long pos, int len) {
        byte[] buf = new byte[len];
        g.read(va + pos, buf);
        int bad = Patterns.mismatch(buf, stamp, pos);
        if (bad >= 0) {
            ctx.integrityFailure(name + ": GPU read of byte " + (pos + bad) + " does not match what was written");
        }
    }

    /** On the GPU: writes the pattern of {@code stamp} over {@code [pos, pos + len)} of a BO mapped at va. */
    static void gpuWrite(Gpu g, long va, long stamp, long pos, int len) {
        g.write(va + pos, Patterns.fill(new byte[len], stamp, pos));
    }

    /** A random size in {@code [min, max]}, a multiple of 4 KiB. */
    final long pages(long min, long max) {
        long lo = Math.max(1, min / PagePool.PAGE_SIZE);
        long hi = Math.max(lo, max / PagePool.PAGE_SIZE);
        return (lo + (long) (rnd.nextDouble() * (hi - lo + 1))) * PagePool.PAGE_SIZE;
    }

    static long clamp(long v, long lo, long hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
