package dev.gemshrink.cli;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.panthor.JobWork;
import dev.gemshrink.panthor.PanthorBo;
import dev.gemshrink.panthor.PanthorClient;
import dev.gemshrink.panthor.PanthorDevice;
import dev.gemshrink.panthor.PanthorJob;
import dev.gemshrink.panthor.PanthorVm;
import dev.gemshrink.panthor.TilerHeap;
import java.io.PrintStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs the commands of a trace that starts with {@code device driver=panthor} against a {@link PanthorDevice}
 * through its public API: clients, VMs, BOs private to a VM or shareable (discard-on-reclaim or not), bind and
 * unbind at GPU addresses, held jobs ({@code submit}/{@code complete}), GPU reads and writes and tiler-heap growth
 * as jobs of their own, CPU reads and writes, reclaim.
 *
 * <p>The device runs one job at a time in submission order, so a held job keeps the GPU: {@code complete} of a job
 * submitted after another one still held, and any command that runs a job of its own ({@code gpu_read},
 * {@code gpu_write}, {@code grow}) while a job is held, are refused with EBUSY rather than waiting for ever. At the
 * end the replay completes the held jobs, closes every client (which unbinds every range and frees the heaps) and
 * requires: no invariant violation, no page in RAM or swap, no object or BO left, no internal error and no violation
 * reported by a {@code check} command.
 */
final class PanthorReplayExecutor extends TraceReplay {
    private static final long JOB_WAIT_SECONDS = 30;

    private final Map<String, PanthorClient> ctxs = new LinkedHashMap<>();
    private final Map<String, PanthorVm> vms = new LinkedHashMap<>();
    private final Map<String, PanthorBo> bos = new LinkedHashMap<>();
    private final Map<String, TilerHeap> heaps = new LinkedHashMap<>();
    private final Map<String, Held> jobs = new LinkedHashMap<>(); // in submission order
    private PanthorDevice dev;

    /** A held job and what lets it finish. */
    private record Held(PanthorJob job, CountDownLatch release) {
    }

    PanthorReplayExecutor(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    void openDevice(long ramBytes, long swapBytes) {
        int ramPages = (int) ((ramBytes + 4095) / 4096);
        long swapPages = (swapBytes + 4095) / 4096;
        dev = PanthorDevice.builder().name("replay").ramPages(ramPages)
                .swap(swapPages == 0 ? SwapStore.none() : SwapStore.inMemory(swapPages)).build();
    }

    @Override
    String execute(TraceCommand c) {
        if (c instanceof TraceCommand.Ctx x) {
            free(ctxs, x.ctx(), "ctx");
            ctxs.put(x.ctx(), dev.openClient(x.ctx()));
        } else if (c instanceof TraceCommand.Vm x) {
            free(vms, x.vm(), "vm");
            vms.put(x.vm(), named(ctxs, x.ctx(), "ctx").createVm(x.vm()));
        } else if (c instanceof TraceCommand.CreateVmBo x) {
            free(bos, x.bo(), "bo");
            PanthorClient owner = named(ctxs, x.ctx(), "ctx");
            PanthorVm privateTo = x.privateTo() == null ? null : named(vms, x.privateTo(), "vm");
            bos.put(x.bo(), owner.createBo(x.bo(), x.size(), x.discard() ? PanthorBo.DISCARD_ON_RECLAIM : 0,
                    privateTo));
        } else if (c instanceof TraceCommand.Close x) {
            PanthorBo bo = named(bos, x.bo(), "bo");
            bo.client().closeBo(bo);
            bos.remove(x.bo());
        } else if (c instanceof TraceCommand.Bind x) {
            named(vms, x.vm(), "vm").bind(named(bos, x.bo(), "bo"), x.offset(), x.size(), x.va());
        } else if (c instanceof TraceCommand.Unbind x) {
            named(vms, x.vm(), "vm").unbind(x.va(), x.size());
        } else if (c instanceof TraceCommand.Heap x) {
            free(heaps, x.heap(), "heap");
            PanthorVm vm = named(vms, x.vm(), "vm");
            if (x.maxChunks() > Integer.MAX_VALUE) {
                throw new GemException(Errno.EINVAL, "heap " + x.heap() + ": at most " + Integer.MAX_VALUE
                        + " chunks");
            }
            heaps.put(x.heap(), vm.createTilerHeap(x.heap(), x.chunkSize(), (int) x.maxChunks()));
        } else if (c instanceof TraceCommand.Grow x) {
            return grow(x);
        } else if (c instanceof TraceCommand.VmSubmit x) {
            free(jobs, x.job(), "job");
            CountDownLatch release = new CountDownLatch(1);
            PanthorJob job = named(vms, x.vm(), "vm").submit(x.job(), ctx -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // the job ends early; nothing interrupts the GPU thread
                }
            });
            jobs.put(x.job(), new Held(job, release));
        } else if (c instanceof TraceCommand.Complete x) {
            complete(x.job());
        } else if (c instanceof TraceCommand.GpuWrite x) {
            PanthorVm vm = named(vms, x.vm(), "vm");
            runJob(vm, "gpu_write", ctx -> fill(x.va(), x.len(), x.value(), ctx::write));
        } else if (c instanceof TraceCommand.GpuRead x) {
            PanthorVm vm = named(vms, x.vm(), "vm");
            String[] result = new String[1];
            runJob(vm, "gpu_read", ctx -> result[0] = crc(x.va(), x.len(), ctx::read));
            return result[0];
        } else if (c instanceof TraceCommand.Write x) {
            PanthorBo bo = named(bos, x.bo(), "bo");
            checkRange(bo.name(), bo.size(), x.offset(), x.len());
            fill(x.offset(), x.len(), x.value(), bo::write);
        } else if (c instanceof TraceCommand.Read x) {
            PanthorBo bo = named(bos, x.bo(), "bo");
            checkRange(bo.name(), bo.size(), x.offset(), x.len());
            return crc(x.offset(), x.len(), bo::read);
        } else if (c instanceof TraceCommand.Reclaim x) {
            named(bos, x.bo(), "bo").reclaim();
        } else if (c instanceof TraceCommand.Shrink x) {
            return "freed=" + dev.gem().shrinker().scan(x.pages());
        } else if (c instanceof TraceCommand.State x) {
            return state(named(bos, x.bo(), "bo"));
        } else if (c instanceof TraceCommand.Mem) {
            return mem(dev.gem());
        } else if (c instanceof TraceCommand.Check) {
            return check(dev.check());
        } else {
            throw new Internal("no executor for " + c.getClass().getSimpleName() + " with driver=panthor");
        }
        return "ok";
    }

    /** A job of the VM grows the heap by one chunk: {@code chunk=N}, or the job's ENOMEM (incremental rendering). */
    private String grow(TraceCommand.Grow g) {
        PanthorVm vm = named(vms, g.vm(), "vm");
        TilerHeap heap = named(heaps, g.heap(), "heap");
        int[] chunk = new int[1];
        runJob(vm, "grow", ctx -> chunk[0] = ctx.growHeap(heap));
        return "chunk=" + chunk[0];
    }

    /** Runs a job of its own on the VM and waits for it; a fault or an incremental rendering is its error. */
    private void runJob(PanthorVm vm, String name, JobWork work) {
        if (!jobs.isEmpty()) {
            String held = jobs.keySet().iterator().next();
            throw new GemException(Errno.EBUSY, "the GPU runs held job " + held + " until complete " + held);
        }
        PanthorJob job = vm.submit(name, work);
        await(job);
        if (job.status() != PanthorJob.Status.DONE) {
            throw job.error().orElseThrow(() -> new Internal(job + " ended without an error"));
        }
    }

    private void complete(String name) {
        Held h = named(jobs, name, "job");
        String first = jobs.keySet().iterator().next();
        if (!first.equals(name)) {
            throw new GemException(Errno.EBUSY, "job " + name + " runs after job " + first + " (jobs run in"
                    + " submission order); complete " + first + " first");
        }
        h.release().countDown();
        await(h.job());
        jobs.remove(name);
    }

    private static void await(PanthorJob job) {
        try {
            if (!job.await(JOB_WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new Internal(job + " did not finish within " + JOB_WAIT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Internal("interrupted while waiting for " + job);
        }
    }

    private static String state(PanthorBo bo) {
        ObjectState s = bo.inspect();
        String state = s.discarded() ? "discarded" : s.evicted() ? "evicted" : bo.isResident() ? "resident" : "none";
        return "state=" + state + " resident=" + s.residentPages() + " swapped=" + s.swappedPages() + " bindings="
                + bo.bindings().size() + " refs=" + bo.refs() + " reclaimed=" + bo.evictions() + " discards="
                + bo.discards();
    }

    /** Refuses (EINVAL) a name already in use. */
    private static void free(Map<String, ?> names, String name, String kind) {
        if (names.containsKey(name)) {
            throw new GemException(Errno.EINVAL, kind + " " + name + " already exists");
        }
    }

    /** Looks a name up; ENOENT when unknown. */
    private static <T> T named(Map<String, T> names, String name, String kind) {
        T t = names.get(name);
        if (t == null) {
            throw new GemException(Errno.ENOENT, "no " + kind + " " + name);
        }
        return t;
    }

    @Override
    void releaseAll() {
        for (Iterator<Held> it = jobs.values().iterator(); it.hasNext(); ) {
            Held h = it.next();
            h.release().countDown();
            await(h.job());
            it.remove();
        }
        bos.clear();
        heaps.clear();
        vms.clear();
        for (PanthorClient c : ctxs.values()) {
            c.close();
        }
        ctxs.clear();
    }

    @Override
    GemDevice gem() {
        return dev.gem();
    }

    @Override
    List<Violation> checkDevice() {
        return dev.check();
    }

    @Override
    List<?> liveBos() {
        return dev.bos();
    }

    @Override
    void closeDevice() {
        dev.close();
    }
}
