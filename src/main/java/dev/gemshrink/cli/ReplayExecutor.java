package dev.gemshrink.cli;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.core.Owner;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.panfrost.BoFlags;
import dev.gemshrink.panfrost.GpuWork;
import dev.gemshrink.panfrost.Job;
import dev.gemshrink.panfrost.PanfrostBo;
import dev.gemshrink.panfrost.PanfrostClient;
import dev.gemshrink.panfrost.PanfrostDevice;
import dev.gemshrink.stats.Fdinfo;
import dev.gemshrink.stats.GemsTable;
import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;

/**
 * Runs parsed trace commands against a {@link PanfrostDevice} through the public API, printing
 * {@code N: <command> -> <result>} per command (N is the line number) and a last summary line, then cleans up and
 * runs the final check.
 *
 * <p>The trace's own references (page uses, pins, CPU mappings) are kept per BO on one stack per kind; a drop
 * releases the most recent one of its kind. At the end the replay completes pending jobs, releases every reference
 * the trace still holds, closes every client (and so every handle), and then requires: no invariant violation, no
 * page in RAM or swap, no object left, no internal error and no violation reported by a {@code check} command.
 */
final class ReplayExecutor extends TraceReplay {
    private final Map<String, PanfrostClient> ctxs = new LinkedHashMap<>();
    private final Map<String, BoEntry> bos = new LinkedHashMap<>();
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private PanfrostDevice dev;
    private long jobsCompleted;

    /** A BO the trace can name, with the references the trace holds on it. */
    private static final class BoEntry {
        final PanfrostBo bo;
        final PanfrostClient owner;
        final Map<TraceCommand.RefKind, Deque<Owner>> held = new EnumMap<>(TraceCommand.RefKind.class);

        BoEntry(PanfrostBo bo, PanfrostClient owner) {
            this.bo = bo;
            this.owner = owner;
            for (TraceCommand.RefKind k : TraceCommand.RefKind.values()) {
                held.put(k, new ArrayDeque<>());
            }
        }

        int heldCount() {
            int n = 0;
            for (Deque<Owner> d : held.values()) {
                n += d.size();
            }
            return n;
        }
    }

    ReplayExecutor(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    void openDevice(long ramBytes, long swapBytes) {
        int ramPages = (int) ((ramBytes + 4095) / 4096);
        long swapPages = (swapBytes + 4095) / 4096;
        dev = PanfrostDevice.builder().name("replay").ramPages(ramPages)
                .swap(swapPages == 0 ? SwapStore.none() : SwapStore.inMemory(swapPages)).build();
    }

    // ------------------------------------------------------------------ commands

    @Override
    String execute(TraceCommand c) {
        if (c instanceof TraceCommand.Ctx) {
            return ctx((TraceCommand.Ctx) c);
        } else if (c instanceof TraceCommand.CreateBo) {
            return createBo((TraceCommand.CreateBo) c);
        } else if (c instanceof TraceCommand.Open) {
            TraceCommand.Open o = (TraceCommand.Open) c;
            BoEntry b = bo(o.bo());
            client(o.ctx()).open(b.bo);
            return "ok";
        } else if (c instanceof TraceCommand.Close) {
            return close((TraceCommand.Close) c);
        } else if (c instanceof TraceCommand.Ref) {
            return ref((TraceCommand.Ref) c);
        } else if (c instanceof TraceCommand.Sgt) {
            bo(((TraceCommand.Sgt) c).bo()).bo.getPagesSgt();
            return "ok";
        } else if (c instanceof TraceCommand.Madvise) {
            TraceCommand.Madvise m = (TraceCommand.Madvise) c;
            BoEntry b = bo(m.bo());
            boolean retained = b.owner.madvise(b.bo, m.willneed() ? Madv.WILLNEED : Madv.DONTNEED);
            return "retained=" + retained;
        } else if (c instanceof TraceCommand.Write) {
            return write((TraceCommand.Write) c);
        } else if (c instanceof TraceCommand.Read) {
            return read((TraceCommand.Read) c);
        } else if (c instanceof TraceCommand.Submit) {
            return submit((TraceCommand.Submit) c);
        } else if (c instanceof TraceCommand.Complete) {
            return complete((TraceCommand.Complete) c);
        } else if (c instanceof TraceCommand.Fault) {
            TraceCommand.Fault f = (TraceCommand.Fault) c;
            PanfrostClient client = client(f.ctx());
            client.fault(bo(f.bo()).bo, f.offset());
            return "ok";
        } else if (c instanceof TraceCommand.Reclaim) {
            TraceCommand.Reclaim r = (TraceCommand.Reclaim) c;
            BoEntry b = bo(r.bo());
            if (r.purge()) {
                b.bo.purge();
            } else {
                b.bo.evict();
            }
            return "ok";
        } else if (c instanceof TraceCommand.Shrink) {
            return "freed=" + dev.gem().shrinker().scan(((TraceCommand.Shrink) c).pages());
        } else if (c instanceof TraceCommand.State) {
            return state(bo(((TraceCommand.State) c).bo()));
        } else if (c instanceof TraceCommand.Mem) {
            return mem(dev.gem());
        } else if (c instanceof TraceCommand.FdinfoOf) {
            return fdinfo(client(((TraceCommand.FdinfoOf) c).ctx()).fdinfo());
        } else if (c instanceof TraceCommand.Gems) {
            return gems(dev.gems());
        } else if (c instanceof TraceCommand.Check) {
            return check(dev.check());
        } else if (c instanceof TraceCommand.Device) {
            throw new Internal("device must be the first command"); // the parser refuses this
        }
        throw new Internal("no executor for " + c.getClass().getSimpleName());
    }

    private String ctx(TraceCommand.Ctx c) {
        if (ctxs.containsKey(c.ctx())) {
            throw new GemException(Errno.EINVAL, "ctx " + c.ctx() + " already exists");
        }
        ctxs.put(c.ctx(), dev.openClient(c.ctx()));
        return "ok";
    }

    private String createBo(TraceCommand.CreateBo c) {
        if (bos.containsKey(c.bo())) {
            throw new GemException(Errno.EINVAL, "bo " + c.bo() + " already exists");
        }
        PanfrostClient owner = client(c.ctx());
        int flags = (c.heap() ? BoFlags.HEAP : 0) | (c.noexec() ? BoFlags.NOEXEC : 0);
        PanfrostBo bo = owner.createBo(c.bo(), c.size(), flags);
        bos.put(c.bo(), new BoEntry(bo, owner));
        return "ok";
    }

    private String close(TraceCommand.Close c) {
        BoEntry b = bo(c.bo());
        if (b.heldCount() > 0) {
            StringBuilder what = new StringBuilder();
            for (Map.Entry<TraceCommand.RefKind, Deque<Owner>> e : b.held.entrySet()) {
                if (!e.getValue().isEmpty()) {
                    what.append(what.length() == 0 ? "" : ", ").append(e.getValue().size()).append(' ')
                            .append(e.getKey().noun).append(e.getValue().size() == 1 ? "" : "s");
                }
            }
            throw new GemException(Errno.EBUSY, "bo " + c.bo() + ": the trace still holds " + what
                    + (b.heldCount() == 1 ? "; release it first" : "; release them first"));
        }
        b.owner.close(b.bo);
        bos.remove(c.bo());
        return "ok";
    }

    private String ref(TraceCommand.Ref r) {
        BoEntry b = bo(r.bo());
        Deque<Owner> stack = b.held.get(r.kind());
        if (r.take()) {
            Owner o;
            switch (r.kind()) {
                case PAGES:
                    o = b.bo.getPages();
                    break;
                case PIN:
                    o = b.bo.pin();
                    break;
                default:
                    o = b.bo.vmap();
                    break;
            }
            stack.push(o);
        } else {
            if (stack.isEmpty()) {
                throw new GemException(Errno.EINVAL, r.kind().drop + " " + r.bo() + ": the trace holds no "
                        + r.kind().noun + " on it");
            }
            Owner o = stack.peek();
            o.close();
            stack.pop();
        }
        return "ok";
    }

    private String write(TraceCommand.Write w) {
        BoEntry b = bo(w.bo());
        checkRange(b.bo.name(), b.bo.size(), w.offset(), w.len());
        fill(w.offset(), w.len(), w.value(), b.bo::write);
        return "ok";
    }

    private String read(TraceCommand.Read r) {
        BoEntry b = bo(r.bo());
        checkRange(b.bo.name(), b.bo.size(), r.offset(), r.len());
        return crc(r.offset(), r.len(), b.bo::read);
    }

    private String submit(TraceCommand.Submit s) {
        if (jobs.containsKey(s.job())) {
            throw new GemException(Errno.EINVAL, "job " + s.job() + " already exists");
        }
        PanfrostClient client = client(s.ctx());
        List<PanfrostBo> list = new ArrayList<>();
        for (String name : s.bos()) {
            list.add(bo(name).bo);
        }
        jobs.put(s.job(), client.submit(s.job(), list, GpuWork.NONE, true));
        return "ok";
    }

    private String complete(TraceCommand.Complete c) {
        Job job = jobs.get(c.job());
        if (job == null) {
            throw new GemException(Errno.ENOENT, "no job " + c.job());
        }
        job.complete();
        jobs.remove(c.job());
        jobsCompleted++;
        awaitFinished();
        return "ok";
    }

    /** Waits until every completed job has also dropped its BO references (the GPU thread may still be at it). */
    private void awaitFinished() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            PanfrostDevice.Stats s = dev.stats();
            if (s.jobsDone() + s.jobsFaulted() >= jobsCompleted) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new Internal("a completed job did not release its BOs within 30 s");
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    private static String state(BoEntry b) {
        ObjectState s = b.bo.inspect();
        return "madv=" + s.madv().name().toLowerCase(Locale.ROOT) + " pages_use=" + s.pagesUse() + " pin="
                + s.pinCount() + " vmap=" + s.vmapCount() + " resident=" + s.residentPages() + " swapped="
                + s.swappedPages() + " sgt=" + (b.bo.hasSgt() ? "yes" : "no");
    }

    /** The memory keys as plain byte counts, in the order the trace format fixes. */
    static String fdinfo(Fdinfo f) {
        return "drm-total-memory=" + f.total() + " drm-shared-memory=" + f.shared() + " drm-resident-memory="
                + f.resident() + " drm-purgeable-memory=" + f.purgeable() + " drm-active-memory=" + f.active()
                + " drm-evicted-memory=" + f.evicted();
    }

    /** One {@code NAME key=value...} part per row, then the footer, separated by {@code "; "}. */
    static String gems(GemsTable t) {
        StringJoiner j = new StringJoiner("; ");
        for (GemsTable.Row r : t.rows()) {
            j.add(r.name() + " client=" + r.client() + " size=" + r.size() + " flags=" + r.flags() + " madv="
                    + r.madv() + " state=" + r.state().label() + " resident=" + r.residentPages() + " swapped="
                    + r.swappedPages() + " pins=" + r.pins() + " vmaps=" + r.vmaps() + " mappings=" + r.mappings()
                    + " reclaimed=" + r.timesReclaimed());
        }
        j.add("total=" + t.totalBytes() + " reclaimable=" + t.reclaimableBytes() + " last_scan="
                + t.lastScanReclaimed());
        return j.toString();
    }

    private PanfrostClient client(String name) {
        PanfrostClient c = ctxs.get(name);
        if (c == null) {
            throw new GemException(Errno.ENOENT, "no ctx " + name);
        }
        return c;
    }

    private BoEntry bo(String name) {
        BoEntry b = bos.get(name);
        if (b == null) {
            throw new GemException(Errno.ENOENT, "no bo " + name);
        }
        return b;
    }

    // ------------------------------------------------------------------ the end

    @Override
    void releaseAll() {
        for (Map.Entry<String, Job> e : new ArrayList<>(jobs.entrySet())) {
            e.getValue().complete();
            jobs.remove(e.getKey());
            jobsCompleted++;
        }
        awaitFinished();
        for (BoEntry b : bos.values()) {
            for (Deque<Owner> d : b.held.values()) {
                while (!d.isEmpty()) {
                    d.pop().close();
                }
            }
        }
        bos.clear();
        for (PanfrostClient c : ctxs.values()) {
            c.close();
        }
        ctxs.clear();
        awaitFinished();
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
