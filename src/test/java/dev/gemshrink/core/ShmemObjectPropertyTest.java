package dev.gemshrink.core;

import static dev.gemshrink.core.ObjectModel.w;
import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import ch.qos.logback.classic.Level;
import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.core.ObjectModel.Action;
import dev.gemshrink.core.ObjectModel.Handle;
import dev.gemshrink.core.ObjectModel.HandleType;
import dev.gemshrink.core.ObjectModel.Kind;
import dev.gemshrink.core.ObjectModel.ModelObject;
import dev.gemshrink.core.ObjectModel.Op;
import dev.gemshrink.core.ObjectModel.Outcome;
import dev.gemshrink.core.ObjectModel.Scenario;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.Invariants;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.slf4j.LoggerFactory;

/**
 * Model-based property test of {@link ShmemObject}: QuickTheories generates random sequences of operations (as
 * lists, so a failure shrinks to a short sequence) on three small objects of one {@link GemDevice} with a tiny RAM
 * budget and a tiny in-memory swap, so allocation failures and swap-full evictions happen. The shared
 * {@link ObjectModel} (here without reclaim: an allocation that does not fit fails) predicts every outcome: the
 * result of a successful call or the exact {@link Errno} of the {@link GemException}. After every step the test
 * asserts the outcome, every count and state query, the RAM and swap accounting, the object's bytes in RAM and the
 * {@link InvariantChecker}; at the end it closes and frees everything and asserts the device is empty.
 */
class ShmemObjectPropertyTest {
    private static final int EXAMPLES = 3000;
    private static final int OBJECTS = 3;
    private static final int MAX_PAGES = 4;
    private static final int MAX_OPS = 60;
    private static final int PAGE = PagePool.PAGE_SIZE;

    /** How often each outcome (and each interesting path) was seen, to prove the generator reaches it. */
    private final Map<String, AtomicLong> coverage = new ConcurrentHashMap<>();

    @Test
    void randomOperationSequencesAgreeWithTheModel() {
        ch.qos.logback.classic.Logger log =
                (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(ShmemObject.class);
        Level before = log.getLevel();
        log.setLevel(Level.ERROR); // free() warns about every leak; the test provokes hundreds on purpose
        try {
            qt().withExamples(EXAMPLES)
                    .withShrinkCycles(5000)
                    .forAll(scenarios())
                    .checkAssert(s -> new Run(s).execute());
        } finally {
            log.setLevel(before);
        }
        assertThat(coverage.keySet()).as("outcomes the generator must reach; seen: %s", new TreeSet<>(
                coverage.keySet())).contains(
                "GET_PAGES:ok", "GET_PAGES:ENOMEM", "GET_PAGES:ENOENT", "GET_PAGES:EINVAL", "PUT:ok", "PUT:EINVAL",
                "PIN:ok", "PIN:ENOMEM", "UNPIN:ok", "UNPIN:EINVAL", "VMAP:ok", "VUNMAP:ok", "VUNMAP:EINVAL",
                "VMAP_READ:ok", "VMAP_READ:EINVAL", "VMAP_WRITE:ok", "VMAP_WRITE:EINVAL",
                "GET_PAGES_SGT:ok", "GET_PAGES_SGT:ENOMEM", "GET_SG_TABLE:ok", "GET_SG_TABLE:EINVAL",
                "MADV_WILLNEED:ok", "MADV_DONTNEED:ok", "MADV_PURGED:EINVAL", "PURGE:ok", "PURGE:EBUSY",
                "EVICT:ok", "EVICT:EBUSY", "EVICT:ENOMEM", "EXPORT:ok", "EXPORT:ENOMEM", "CLOSE_EXPORT:EINVAL",
                "FREE:ok", "FREE:ENOENT", "READ:ok", "READ:EFAULT", "READ:EINVAL", "READ:ENOMEM", "WRITE:ok",
                "WRITE:EFAULT", "path:fast-get-pages", "path:fast-pin", "path:fast-vmap", "path:swap-in",
                "path:swap-in-enomem", "path:purge-evicted", "path:leaky-free", "path:retired-on-last-close",
                "path:retained-false", "path:transient-read", "path:data-after-swap-in",
                "path:freed-with-live-counts");
    }

    // ------------------------------------------------------------------ generated input

    private static Gen<Scenario> scenarios() {
        return lists().of(integers().between(1, MAX_PAGES * PAGE)).ofSize(OBJECTS)
                .zip(integers().between(2, 12), integers().between(0, 10), integers().between(0, 15),
                        lists().of(ops()).ofSizeBetween(1, MAX_OPS), Scenario::new);
    }

    private static Gen<Op> ops() {
        List<Pair<Integer, Gen<Kind>>> weights = new ArrayList<>();
        // First: what shrinking turns an irrelevant operation into, so it must change nothing.
        weights.add(w(2, Kind.GET_SG_TABLE));
        weights.add(w(8, Kind.GET_PAGES));
        weights.add(w(5, Kind.PUT));
        weights.add(w(3, Kind.PIN));
        weights.add(w(5, Kind.UNPIN));
        weights.add(w(3, Kind.VMAP));
        weights.add(w(5, Kind.VUNMAP));
        weights.add(w(5, Kind.VMAP_READ));
        weights.add(w(5, Kind.VMAP_WRITE));
        weights.add(w(10, Kind.GET_PAGES_SGT));
        weights.add(w(3, Kind.MADV_WILLNEED));
        weights.add(w(4, Kind.MADV_DONTNEED));
        weights.add(w(1, Kind.MADV_PURGED));
        weights.add(w(6, Kind.PURGE));
        weights.add(w(8, Kind.EVICT));
        weights.add(w(1, Kind.EXPORT));
        weights.add(w(3, Kind.CLOSE_EXPORT));
        weights.add(w(1, Kind.FREE));
        weights.add(w(4, Kind.READ));
        weights.add(w(4, Kind.WRITE));
        return Generate.frequency(weights).zip(integers().between(0, OBJECTS - 1), integers().between(0, 7),
                integers().between(0, 20 * 16384 - 1), integers().between(0, 99), Op::new);
    }

    /** One run of one scenario: the device, its objects, the model and the step loop. */
    final class Run extends ObjectModel {
        private final Scenario sc;
        private final boolean paranoid;
        private final GemDevice device;
        private final ShmemObject[] objs = new ShmemObject[OBJECTS];
        private int step;

        @SuppressWarnings("deprecation") // setReclaimHook(null): no reclaim at all, the device's own hook included
        Run(Scenario sc) {
            super(OBJECTS, sc.ramPages(), sc.swapPages());
            this.sc = sc;
            this.paranoid = (sc.flags() & 12) == 0;
            this.device = GemDevice.builder().ramPages(ramCap).swap(SwapStore.inMemory(swapCap))
                    .leakDetection(paranoid ? LeakDetection.PARANOID : LeakDetection.SIMPLE).build();
            // No direct reclaim: an allocation that does not fit fails with ENOMEM, as the model predicts.
            device.pool().setReclaimHook(null);
            for (int i = 0; i < OBJECTS; i++) {
                int size = sc.sizes().get(i);
                int pages = (size + PAGE - 1) / PAGE;
                objs[i] = device.createObject(size);
                model[i] = new ModelObject(objs[i].name(), pages);
                assertThat(objs[i].size()).as("size of %s", objs[i]).isEqualTo((long) pages * PAGE);
                assertThat(objs[i].pageCount()).isEqualTo(pages);
            }
        }

        void execute() {
            checkAll("initial state");
            for (Op op : sc.ops()) {
                perform(resolve(op));
            }
            teardown();
            device.close();
        }

        private void teardown() {
            if ((sc.flags() & 1) != 0) {
                for (int i = 0; i < OBJECTS; i++) {
                    if (!model[i].freed) {
                        perform(new Action(Kind.FREE, i, null, null, 0, 0, ++step));
                    }
                }
            }
            boolean newestFirst = (sc.flags() & 2) != 0;
            for (int i = 0; i < OBJECTS; i++) {
                List<Handle> hs = new ArrayList<>(model[i].handles);
                if (newestFirst) {
                    Collections.reverse(hs);
                }
                for (Handle h : hs) {
                    if (h.live) {
                        perform(new Action(closeKind(h.type), i, h, null, 0, 0, ++step));
                    }
                }
            }
            for (int i = 0; i < OBJECTS; i++) {
                if (!model[i].freed) {
                    perform(new Action(Kind.FREE, i, null, null, 0, 0, ++step));
                }
                assertThat(model[i].retired).as("model retired %s", model[i]).isTrue();
            }
            Invariants.assertEmpty(device);
        }

        private Kind closeKind(HandleType t) {
            switch (t) {
                case PAGES:
                    return Kind.PUT;
                case PIN:
                    return Kind.UNPIN;
                case VMAP:
                    return Kind.VUNMAP;
                default:
                    return Kind.CLOSE_EXPORT;
            }
        }

        private Action resolve(Op op) {
            step++;
            ModelObject m = model[op.obj()];
            HandleType type = handleType(op.kind());
            Handle h = null;
            if (type != null) {
                // Mostly a live handle (so pins and mappings do not pile up), sometimes any, closed ones included.
                List<Handle> of = m.handles.stream().filter(x -> x.type == type && (x.live || op.idx() >= 6))
                        .collect(Collectors.toList());
                if (of.isEmpty()) {
                    of = m.handles.stream().filter(x -> x.type == type).collect(Collectors.toList());
                }
                h = of.isEmpty() ? null : of.get(op.idx() % of.size());
            }
            OwnerKind pk = null;
            if (op.kind() == Kind.GET_PAGES) {
                pk = op.idx() <= 4 ? OwnerKind.PAGES_HANDLE
                        : op.idx() == 5 ? OwnerKind.PAGES_HEAP_CHUNKS
                        : op.idx() == 6 ? OwnerKind.PAGES_HEAP_CHUNKS
                        : op.where() % 2 == 0 ? OwnerKind.PAGES_SGT : OwnerKind.PIN_HANDLE; // not for callers
            }
            long size = m.size();
            int len = 0;
            long off = 0;
            if (needsRange(op.kind())) {
                int p = op.len();
                if (p < 5) {
                    len = 0;
                } else if (p < 70) {
                    len = 1 + ((p - 5) * 37) % 512;
                } else if (p < 90) {
                    len = (int) Math.min(size, 4000 + (p - 70) * 300);
                } else if (p < 97) {
                    len = (int) size;
                } else {
                    len = (int) size + 1;
                }
                int mode = op.where() % 20;
                if (len > size) {
                    off = 0;
                } else if (mode < 17) {
                    off = (op.where() / 20) % (size - len + 1);
                } else if (mode == 17) {
                    off = -1;
                } else if (mode == 18) {
                    off = size - len + 1;
                } else {
                    off = Long.MAX_VALUE - 3;
                }
            }
            return new Action(op.kind(), op.obj(), h, pk, off, len, step);
        }

        private HandleType handleType(Kind k) {
            switch (k) {
                case PUT:
                    return HandleType.PAGES;
                case UNPIN:
                    return HandleType.PIN;
                case VUNMAP:
                case VMAP_READ:
                case VMAP_WRITE:
                    return HandleType.VMAP;
                case CLOSE_EXPORT:
                    return HandleType.EXPORT;
                default:
                    return null;
            }
        }

        private void perform(Action a) {
            String before = describeModel();
            Owner[] acquired = new Owner[1];
            Outcome actual = implement(a, acquired);
            Outcome expected = predict(a, acquired[0]);
            coverage.computeIfAbsent(a.kind() + ":" + expected.key(), k -> new AtomicLong()).incrementAndGet();
            assertThat(actual).as("outcome of %s%nmodel before: %s", a, before).isEqualTo(expected);
            checkAll(a + "\nmodel before: " + before);
        }

        @Override
        void tag(String path) {
            coverage.computeIfAbsent("path:" + path, k -> new AtomicLong()).incrementAndGet();
        }

        private String describeModel() {
            return Arrays.toString(model) + " ram=" + ram + "/" + ramCap + " swap=" + swap + "/" + swapCap;
        }

        // -------------------------------------------------------------- the implementation side

        private Outcome implement(Action a, Owner[] acquired) {
            ShmemObject o = objs[a.obj()];
            Handle h = a.handle();
            try {
                switch (a.kind()) {
                    case GET_PAGES:
                        acquired[0] = a.pagesKind() == OwnerKind.PAGES_HANDLE ? o.getPages()
                                : o.getPages(a.pagesKind());
                        return Outcome.ok("acquired " + acquired[0].kind());
                    case PIN:
                        acquired[0] = o.pin();
                        return Outcome.ok("acquired " + acquired[0].kind());
                    case VMAP:
                        acquired[0] = o.vmap();
                        assertThat(((VMap) acquired[0]).size()).isEqualTo(o.size());
                        return Outcome.ok("acquired " + acquired[0].kind());
                    case EXPORT:
                        acquired[0] = o.export();
                        return Outcome.ok("acquired " + acquired[0].kind());
                    case PUT:
                    case UNPIN:
                    case VUNMAP:
                    case CLOSE_EXPORT:
                        if (h == null) {
                            return Outcome.SKIP;
                        }
                        h.owner.close();
                        return Outcome.ok("closed");
                    case VMAP_READ: {
                        if (h == null) {
                            return Outcome.SKIP;
                        }
                        byte[] dst = new byte[a.len()];
                        ((VMap) h.owner).read(a.off(), dst, 0, dst.length);
                        return Outcome.ok(dst);
                    }
                    case VMAP_WRITE:
                        if (h == null) {
                            return Outcome.SKIP;
                        }
                        ((VMap) h.owner).write(a.off(), a.pattern(), 0, a.len());
                        return Outcome.ok("written");
                    case GET_PAGES_SGT:
                        return Outcome.ok(describeSg(o, o.getPagesSgt()));
                    case GET_SG_TABLE:
                        return Outcome.ok(describeSg(o, o.getSgTable()));
                    case MADV_WILLNEED:
                        return Outcome.ok("retained=" + o.madvise(Madv.WILLNEED));
                    case MADV_DONTNEED:
                        return Outcome.ok("retained=" + o.madvise(Madv.DONTNEED));
                    case MADV_PURGED:
                        return Outcome.ok("retained=" + o.madvise(Madv.PURGED));
                    case PURGE:
                        return Outcome.ok("freed=" + o.purge());
                    case EVICT:
                        return Outcome.ok("freed=" + o.evict());
                    case FREE: {
                        LeakReport r = o.free();
                        Map<OwnerKind, Integer> counts = new EnumMap<>(OwnerKind.class);
                        counts.putAll(r.counts());
                        int live = counts.values().stream().mapToInt(Integer::intValue).sum();
                        assertThat(r.isEmpty()).isEqualTo(live == 0);
                        assertThat(r.transitions()).as("open transitions listed by %s", r)
                                .hasSize(paranoid ? live : 0).allMatch(t -> !paranoid || t.matched());
                        return Outcome.ok("leaks=" + counts);
                    }
                    case READ: {
                        byte[] dst = new byte[a.len()];
                        o.read(a.off(), dst);
                        return Outcome.ok(dst);
                    }
                    case WRITE:
                        o.write(a.off(), a.pattern());
                        return Outcome.ok("written");
                    default:
                        throw new AssertionError(a.kind());
                }
            } catch (GemException e) {
                return Outcome.err(e.errno());
            }
        }

        /** Describes a table and checks it against the frames the object holds. */
        private String describeSg(ShmemObject o, ScatterList sl) {
            int[] pfns = o.inspect().pfns();
            int[] fromSg = new int[o.pageCount()];
            Arrays.fill(fromSg, -1);
            for (ScatterList.Segment s : sl.segments()) {
                for (int k = 0; k < s.count(); k++) {
                    fromSg[s.pageIndex() + k] = s.firstPfn() + k;
                }
            }
            assertThat(fromSg).as("sg table of %s describes its frames", o).isEqualTo(pfns);
            return "sg pages=" + sl.pages();
        }

        // -------------------------------------------------------------- checks after every step

        private void checkAll(String after) {
            List<ShmemObject> known = device.objects();
            Set<String> expectedViolations = new TreeSet<>();
            for (int i = 0; i < OBJECTS; i++) {
                ShmemObject o = objs[i];
                ModelObject m = model[i];
                String what = "after " + after + "\n" + m.name + " model " + m;
                assertThat(o.pagesUseCount()).as("pagesUseCount %s", what).isEqualTo(m.use);
                assertThat(o.pinCount()).as("pinCount %s", what).isEqualTo(m.pin);
                assertThat(o.vmapCount()).as("vmapCount %s", what).isEqualTo(m.vmap);
                assertThat(o.madv()).as("madv %s", what).isEqualTo(m.madv);
                assertThat(o.isFreed()).as("isFreed %s", what).isEqualTo(m.freed);
                assertThat(o.isResident()).as("isResident %s", what).isEqualTo(m.resident);
                assertThat(o.isEvicted()).as("isEvicted %s", what).isEqualTo(m.evicted);
                assertThat(o.hasSgt()).as("hasSgt %s", what).isEqualTo(m.sgt && m.resident);
                assertThat(o.residentPages()).as("residentPages %s", what).isEqualTo(m.resident ? m.pages : 0);
                assertThat(o.swappedPages()).as("swappedPages %s", what).isEqualTo(m.evicted ? m.pages : 0);
                assertThat(o.isPurgeable()).as("isPurgeable %s", what).isEqualTo(m.purgeable());
                assertThat(o.isEvictable()).as("isEvictable %s", what).isEqualTo(m.evictable());
                assertThat(known.contains(o)).as("device knows %s", what).isEqualTo(!m.retired);
                assertThat(o.leakReport().counts()).as("live owners %s", what).isEqualTo(m.liveOwners());
                for (Handle h : m.handles) {
                    assertThat(h.owner.isLive()).as("%s is live, %s", h, what).isEqualTo(h.live);
                }
                if (m.freed && !m.retired) {
                    expectedViolations.add(m.name + ": freed-holds-nothing");
                }
                int[] pfns = o.inspect().pfns();
                assertThat(pfns != null).as("frame array %s", what).isEqualTo(m.resident);
                if (pfns != null) {
                    for (int p = 0; p < m.pages; p++) {
                        ByteBuffer frame = device.pool().frame(pfns[p]).duplicate().clear();
                        int mismatch = frame.mismatch(ByteBuffer.wrap(m.data, p * PAGE, PAGE));
                        assertThat(mismatch).as("first wrong byte of page %d %s", p, what).isEqualTo(-1);
                    }
                }
            }
            String where = "after " + after;
            assertThat(device.pool().usedPages()).as("RAM pages in use %s", where).isEqualTo(ram);
            assertThat(device.swap().usedPages()).as("swap pages in use %s", where).isEqualTo((long) swap);
            if (expectedViolations.isEmpty()) {
                Invariants.assertClean(device);
            } else {
                Set<String> actual = InvariantChecker.check(device).stream()
                        .map(v -> v.subject() + ": " + v.rule()).collect(Collectors.toCollection(TreeSet::new));
                assertThat(actual).as("violations (only the leaks of freed objects) %s", where)
                        .isEqualTo(expectedViolations);
            }
        }
    }
}
