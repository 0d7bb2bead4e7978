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
import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.reclaim.Shrinker;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import dev.gemshrink.reclaim.ShrinkerStats;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.LockValidationOff;
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
import org.junit.jupiter.api.extension.ExtendWith;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.slf4j.LoggerFactory;

/**
 * Model-based property test of the LRU lists and the device shrinker (docs/kernel-model.md sections 1, 3 and 4), in the
 * style of {@link ShmemObjectPropertyTest}: QuickTheories generates random operation sequences (lists, so a failure
 * shrinks to a short sequence) on six small objects of one {@link GemDevice} with a tiny RAM budget and a tiny
 * in-memory swap. Besides the object operations there are reclaim operations: {@code SHRINK(n)}, the debugfs-like
 * {@code device.shrinker().scan(n)}, and direct reclaim: the pool's reclaim hook stays installed (the device's own
 * {@link ShrinkerRegistry}), so every allocation that does not fit runs the Linux-like reclaim loop and purges or
 * evicts other objects. {@code LOCK_RESV}/{@code UNLOCK_RESV} hold one object's reservation lock across the
 * following operations, so reclaim meets a locked object (it must skip it and rotate it to the tail).
 *
 * <p>The model (the shared {@link ObjectModel} of the objects, extended here with the LRU lists and reclaim)
 * predicts everything exactly, direct reclaim included:
 * <ul>
 *   <li>the LRU lists and their order: every slow-path call (one that goes through the object's locked state
 *   change, failing ones included) moves the object to the tail of the list its state implies; the lock-free fast
 *   paths (a get/pin/vmap while the count is above zero, a put/unpin/vunmap that leaves it above zero) and calls
 *   that fail before locking (bad arguments, a second close, CPU access to a freed object) do not move it;</li>
 *   <li>a scan: purge pass over the purgeable list head first (whole objects, stopping once the target is met),
 *   then, if still short and swap has room, an evict pass over the evictable list, skipping objects that do not fit
 *   in swap or whose reservation lock is held; skipped objects are spliced back at the tail; the result is the
 *   resident pages of the reclaimed objects, or STOP;</li>
 *   <li>direct reclaim: priority 12 down to 0, {@code delta = (freeable >> priority) * 4 / seeks} plus deferred
 *   work shifted by priority, capped at twice freeable, batches of 128 (each scan asking for no more than the
 *   remaining target), stop once the target is met, unfinished work deferred; an allocation retries reclaim a
 *   bounded number of times;</li>
 *   <li>the shrinker's count and its statistics (scans, pages scanned, freed, purged, evicted, skipped as locked,
 *   STOPs, deferred work).</li>
 * </ul>
 * After every step the test compares every outcome, count, state query, byte (so WILLNEED contents that went to
 * swap must come back identical), RAM and swap use, each LRU walked head to tail under the LRU lock with its page
 * and object totals, the shrinker's count and stats, and the {@link InvariantChecker}. Independently of the model it
 * also checks what any reclaim did to objects other than the one operated on: a victim was resident, unpinned,
 * unmapped, unexported, had its stored sg table and an unlocked reservation lock, and a DONTNEED victim became
 * PURGED while a WILLNEED one went to swap; and an allocation that failed because reclaim made no progress left no
 * unlocked purgeable object and no unlocked evictable object that would fit in swap.
 */
// The harness thread holds one object's reservation lock (LOCK_RESV) across steps that lock other objects, so it
// nests reservation locks without an acquire context in both orders: single-threaded that cannot deadlock, but the
// lock validator rightly calls it an inversion. Validation is off here; every other test runs under it.
@ExtendWith(LockValidationOff.class)
class ShrinkerPropertyTest {
    private static final int EXAMPLES = 1500;
    private static final int OBJECTS = 6;
    private static final int MAX_PAGES = 4;
    private static final int MAX_OPS = 60;
    private static final int PAGE = PagePool.PAGE_SIZE;
    /** How many times an allocation runs direct reclaim before failing (PagePool.RECLAIM_RETRIES). */
    private static final int RECLAIM_RETRIES = 4;
    /** The LRU lists, in the order they are printed. */
    private static final List<Placement> LISTS =
            List.of(Placement.PURGEABLE, Placement.EVICTABLE, Placement.EVICTED, Placement.EVICTED_PURGEABLE,
                    Placement.PINNED);

    /** How often each outcome (and each interesting path) was seen, to prove the generator reaches it. */
    private final Map<String, AtomicLong> coverage = new ConcurrentHashMap<>();

    @Test
    void randomSequencesWithReclaimAgreeWithTheModel() {
        ch.qos.logback.classic.Logger objLog =
                (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(ShmemObject.class);
        ch.qos.logback.classic.Logger shrinkLog =
                (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(GemShrinker.class);
        Level objBefore = objLog.getLevel();
        Level shrinkBefore = shrinkLog.getLevel();
        objLog.setLevel(Level.ERROR); // free() warns about every leak; the test provokes them on purpose
        shrinkLog.setLevel(Level.ERROR); // "Purging N bytes"
        try {
            qt().withExamples(EXAMPLES)
                    .withShrinkCycles(5000)
                    .forAll(scenarios())
                    .checkAssert(s -> new Run(s).execute());
        } finally {
            objLog.setLevel(objBefore);
            shrinkLog.setLevel(shrinkBefore);
        }
        assertThat(coverage.keySet()).as("outcomes the generator must reach; seen: %s", new TreeSet<>(
                coverage.keySet())).contains(
                "GET_PAGES:ok", "GET_PAGES:ENOMEM", "PUT:ok", "PIN:ok", "PIN:ENOMEM", "UNPIN:ok", "VMAP:ok",
                "VUNMAP:ok", "VMAP_READ:ok", "VMAP_WRITE:ok", "GET_PAGES_SGT:ok", "GET_PAGES_SGT:ENOMEM",
                "MADV_WILLNEED:ok", "MADV_DONTNEED:ok", "PURGE:ok", "PURGE:EBUSY", "EVICT:ok", "EVICT:EBUSY",
                "EXPORT:ok", "CLOSE_EXPORT:ok", "FREE:ok", "READ:ok", "READ:EFAULT", "READ:ENOMEM", "WRITE:ok",
                "SHRINK:ok", "LOCK_RESV:ok", "UNLOCK_RESV:ok",
                "path:fast-get-pages", "path:fast-pin", "path:fast-vmap", "path:fast-put", "path:replace-failed",
                "path:swap-in", "path:swap-in-enomem", "path:data-after-swap-in", "path:leaky-free",
                "path:scan-purge", "path:scan-evict", "path:scan-rotate-swap-full", "path:scan-rotate-locked",
                "path:scan-stop", "path:scan-partial", "path:scan-skipped-go-behind-unscanned",
                "path:scan-no-evict-pass-swap-full", "path:direct-reclaim", "path:direct-reclaim-purge",
                "path:direct-reclaim-evict", "path:direct-reclaim-skip-locked", "path:direct-reclaim-enough",
                "path:direct-reclaim-not-enough", "path:direct-reclaim-retry", "path:deferred-work-used",
                "path:enomem-after-reclaim-gave-up", "path:direct-reclaim-then-swap-in",
                "path:scan-purge-swapped");
    }

    // ------------------------------------------------------------------ generated input

    private static Gen<Scenario> scenarios() {
        // Half the objects are one page, so that several fit on one list and the LRU order has room to go wrong.
        Gen<Integer> size = Generate.frequency(List.of(Pair.of(1, integers().between(1, PAGE)),
                Pair.of(1, integers().between(1, MAX_PAGES * PAGE))));
        return lists().of(size).ofSize(OBJECTS)
                .zip(integers().between(3, 16), integers().between(0, 16), integers().between(0, 15),
                        lists().of(ops()).ofSizeBetween(1, MAX_OPS), Scenario::new);
    }

    private static Gen<Op> ops() {
        List<Pair<Integer, Gen<Kind>>> weights = new ArrayList<>();
        // First: what shrinking turns an irrelevant operation into, so it must change nothing (not even LRU order).
        weights.add(w(2, Kind.GET_SG_TABLE));
        weights.add(w(5, Kind.GET_PAGES));
        weights.add(w(4, Kind.PUT));
        weights.add(w(2, Kind.PIN));
        weights.add(w(5, Kind.UNPIN));
        weights.add(w(2, Kind.VMAP));
        weights.add(w(5, Kind.VUNMAP));
        weights.add(w(3, Kind.VMAP_READ));
        weights.add(w(3, Kind.VMAP_WRITE));
        weights.add(w(14, Kind.GET_PAGES_SGT));
        weights.add(w(3, Kind.MADV_WILLNEED));
        weights.add(w(3, Kind.MADV_DONTNEED));
        weights.add(w(1, Kind.MADV_PURGED));
        weights.add(w(2, Kind.PURGE));
        weights.add(w(3, Kind.EVICT));
        weights.add(w(1, Kind.EXPORT));
        weights.add(w(3, Kind.CLOSE_EXPORT));
        weights.add(w(1, Kind.FREE));
        weights.add(w(5, Kind.READ));
        weights.add(w(5, Kind.WRITE));
        weights.add(w(7, Kind.SHRINK));
        weights.add(w(3, Kind.LOCK_RESV));
        weights.add(w(1, Kind.UNLOCK_RESV));
        return Generate.frequency(weights).zip(integers().between(0, OBJECTS - 1), integers().between(0, 7),
                integers().between(0, 20 * 16384 - 1), integers().between(0, 99), Op::new);
    }


    /** The model of the shrinker's statistics (ShrinkerStats minus the name). */
    static final class ModelStats {
        long scans;
        long scanned;
        long freed;
        long purged;
        long evicted;
        long skippedLocked;
        long stops;
        long deferred;

        ShrinkerStats toStats(String name) {
            return new ShrinkerStats(name, scans, scanned, freed, purged, evicted, skippedLocked, stops, deferred);
        }
    }

    /** What one modelled scan did (GemShrinker's pass). */
    static final class Pass {
        final long target;
        long freed;
        long scanned;
        long purged;
        long evicted;
        long remaining;

        Pass(long target) {
            this.target = target;
        }
    }

    /** One run of one scenario: the device, its objects, the model and the step loop. */
    final class Run extends ObjectModel {
        private final Scenario sc;
        private final boolean paranoid;
        private final GemDevice device;
        private final ShmemObject[] objs = new ShmemObject[OBJECTS];
        private final Map<Placement, List<Integer>> lrus = new EnumMap<>(Placement.class);
        private final ModelStats stats = new ModelStats();
        private int step;
        /** The object whose reservation lock the test holds across operations (LOCK_RESV), or -1. */
        private int held = -1;
        /** The implementation's objects as the last {@link #checkAll} saw them. */
        private final ObjectState[] observed = new ObjectState[OBJECTS];
        /** The object the current operation locks (reclaim inside its allocation must skip it), or -1. */
        private int busy = -1;
        /** Whether the current operation is inside a direct reclaim (for coverage tags). */
        private boolean inDirectReclaim;
        /** Whether the current operation's allocation failed because a whole reclaim freed nothing. */
        private boolean reclaimGaveUp;

        Run(Scenario sc) {
            super(OBJECTS, sc.ramPages(), sc.swapPages());
            this.sc = sc;
            this.paranoid = (sc.flags() & 12) == 0;
            this.device = GemDevice.builder().ramPages(ramCap).swap(SwapStore.inMemory(swapCap))
                    .leakDetection(paranoid ? LeakDetection.PARANOID : LeakDetection.SIMPLE).build();
            // The pool's reclaim hook stays installed: allocations that do not fit run direct reclaim.
            for (Placement p : LISTS) {
                lrus.put(p, new ArrayList<>());
            }
            for (int i = 0; i < OBJECTS; i++) {
                int size = sc.sizes().get(i);
                int pages = (size + PAGE - 1) / PAGE;
                objs[i] = device.createObject(size);
                model[i] = new ModelObject(objs[i].name(), pages);
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
            if (held >= 0) {
                perform(new Action(Kind.UNLOCK_RESV, 0, null, null, 0, 0, ++step));
            }
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
            for (Placement p : LISTS) {
                assertThat(lrus.get(p)).as("model %s list after teardown", p).isEmpty();
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
            if (op.kind() == Kind.SHRINK) {
                return new Action(op.kind(), op.obj(), null, null, 0, shrinkTarget(op.len()), step);
            }
            if (op.kind() == Kind.LOCK_RESV && op.idx() < 4) {
                // Mostly the object reclaim looks at first, so that skipping it (and rotating it) matters.
                for (Placement p : List.of(Placement.EVICTABLE, Placement.PURGEABLE)) {
                    if (!lrus.get(p).isEmpty()) {
                        return new Action(op.kind(), lrus.get(p).get(0), null, null, 0, 0, step);
                    }
                }
            }
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
                pk = op.idx() <= 5 ? OwnerKind.PAGES_HANDLE
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
                } else if (mode < 18) {
                    off = (op.where() / 20) % (size - len + 1);
                } else if (mode == 18) {
                    off = -1;
                } else {
                    off = size - len + 1;
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
            ObjectState[] implBefore = observed.clone(); // nothing changed since the last check
            int heldBefore = held;
            long statsFreedBefore = device.shrinker().stats().freed();
            Owner[] acquired = new Owner[1];
            Outcome actual = implement(a, acquired);
            // Decided on the state before the call: does it reach the object's locked slow path?
            boolean replaces = replaces(a);
            busy = touchesObject(a) ? a.obj() : -1;
            reclaimGaveUp = false;
            Outcome expected = predict(a, acquired[0]);
            busy = -1;
            if (replaces) {
                place(a.obj());
                if (expected.errno != null) {
                    tag("replace-failed");
                }
            } else if (touchesObject(a)) {
                Placement p = model[a.obj()].placement();
                assertThat(p == Placement.NONE ? !onAnyList(a.obj()) : lrus.get(p).contains(a.obj()))
                        .as("model: %s changed the state of o%d without a slow path", a, a.obj()).isTrue();
            }
            coverage.computeIfAbsent(a.kind() + ":" + expected.key(), k -> new AtomicLong()).incrementAndGet();
            Object what = lazy(() -> a + "\nmodel before: " + before);
            assertThat(actual).as("outcome of %s", what).isEqualTo(expected);
            checkAll(what);
            checkVictims(a, implBefore, heldBefore, statsFreedBefore, actual, what);
            if (reclaimGaveUp && actual.errno == Errno.ENOMEM) {
                checkNothingReclaimableLeft(a, heldBefore, what);
            }
        }

        /**
         * Model-independent: an allocation that failed because reclaim made no progress must have left nothing it
         * could take: no unlocked object on the purgeable list, and no unlocked evictable object that fits in swap.
         */
        private void checkNothingReclaimableLeft(Action a, int heldObj, Object what) {
            tag("enomem-after-reclaim-gave-up");
            long swapFree = device.swap().capacityPages() - device.swap().usedPages();
            for (int i = 0; i < OBJECTS; i++) {
                if (i == heldObj || i == a.obj()) {
                    continue; // reservation lock held: reclaim must skip it
                }
                Placement p = device.placementOf(objs[i]);
                assertThat(p).as("ENOMEM although %s is purgeable and unlocked, after %s", model[i].name, what)
                        .isNotEqualTo(Placement.PURGEABLE);
                if (p == Placement.EVICTABLE) {
                    assertThat((long) objs[i].residentPages()).as(
                            "ENOMEM although %s is evictable, unlocked and fits in swap (%d free), after %s",
                            model[i].name, swapFree, what).isGreaterThan(swapFree);
                }
            }
        }

        private boolean touchesObject(Action a) {
            return a.kind() != Kind.SHRINK && a.kind() != Kind.UNLOCK_RESV && a.kind() != Kind.LOCK_RESV;
        }

        /** A message part built only when an assertion fails and prints it. */
        private Object lazy(java.util.function.Supplier<String> text) {
            return new Object() {
                @Override
                public String toString() {
                    return text.get();
                }
            };
        }

        @Override
        void tag(String path) {
            coverage.computeIfAbsent("path:" + path, k -> new AtomicLong()).incrementAndGet();
        }

        private String describeModel() {
            StringBuilder sb = new StringBuilder(Arrays.toString(model));
            for (Placement p : LISTS) {
                sb.append(' ').append(p.name().toLowerCase(java.util.Locale.ROOT)).append('=').append(names(p));
            }
            return sb.append(" ram=").append(ram).append('/').append(ramCap).append(" swap=").append(swap)
                    .append('/').append(swapCap).append(" deferred=").append(stats.deferred)
                    .append(held >= 0 ? " held=o" + held : "").toString();
        }

        private List<String> names(Placement p) {
            return lrus.get(p).stream().map(i -> model[i].name).collect(Collectors.toList());
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
                        return Outcome.ok("sg pages=" + o.getPagesSgt().pages());
                    case GET_SG_TABLE:
                        return Outcome.ok("sg pages=" + o.getSgTable().pages());
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
                    case SHRINK:
                        return Outcome.ok("freed=" + device.shrinker().scan(a.len()));
                    case LOCK_RESV:
                        if (held == a.obj()) {
                            return Outcome.SKIP; // not reentrant: locking it again would be a test bug
                        }
                        if (held >= 0) {
                            objs[held].resv().unlock();
                        }
                        o.resv().lock();
                        return Outcome.ok("locked " + o.name());
                    case UNLOCK_RESV:
                        if (held < 0) {
                            return Outcome.SKIP;
                        }
                        objs[held].resv().unlock();
                        return Outcome.ok("unlocked " + objs[held].name());
                    default:
                        throw new AssertionError(a.kind());
                }
            } catch (GemException e) {
                return Outcome.err(e.errno());
            }
        }

        // -------------------------------------------------------------- the model side: LRU lists

        private boolean onAnyList(int i) {
            return LISTS.stream().anyMatch(p -> lrus.get(p).contains(i));
        }

        /** Moves object i to the tail of the list its state implies, or off every list. */
        private void place(int i) {
            for (Placement p : LISTS) {
                lrus.get(p).remove(Integer.valueOf(i));
            }
            Placement p = model[i].placement();
            if (p != Placement.NONE) {
                lrus.get(p).add(i);
            }
        }

        private long listPages(Placement p) {
            return lrus.get(p).stream().mapToLong(i -> model[i].pages).sum();
        }

        /**
         * Whether a call goes through the object's locked slow path, which re-places it (at the tail) whatever the
         * result. Fast paths move a count that stays above zero; some calls fail before taking the lock.
         */
        private boolean replaces(Action a) {
            ModelObject m = model[a.obj()];
            Handle h = a.handle();
            switch (a.kind()) {
                case GET_PAGES:
                    if (a.pagesKind().internal() || a.pagesKind().ref() != RefKind.PAGES) {
                        return false; // EINVAL before locking
                    }
                    return m.freed || !(m.resident && m.use > 0);
                case PIN:
                    return m.freed || m.pin == 0;
                case VMAP:
                    return m.freed || m.vmap == 0;
                case EXPORT:
                case GET_PAGES_SGT:
                case MADV_WILLNEED:
                case MADV_DONTNEED:
                case PURGE:
                case EVICT:
                case FREE:
                    return true;
                case PUT:
                case UNPIN:
                case VUNMAP:
                case CLOSE_EXPORT:
                    if (h == null || !h.live) {
                        return false; // nothing to close, or EINVAL on a second close
                    }
                    switch (h.type) {
                        case PAGES:
                            return m.use <= 1;
                        case PIN:
                            return m.pin <= 1;
                        case VMAP:
                            return m.vmap <= 1;
                        default:
                            return true;
                    }
                case READ:
                case WRITE:
                    // ENOENT and EINVAL come before mapping; an existing mapping makes vmap and vunmap fast.
                    return !m.freed && inRange(a, m) && m.vmap == 0;
                default: // GET_SG_TABLE, MADV_PURGED, VMAP_READ, VMAP_WRITE, SHRINK, LOCK_RESV, UNLOCK_RESV
                    return false;
            }
        }

        // -------------------------------------------------------------- the model side: reclaim

        /** The shrinker's count: purgeable pages, plus evictable pages as far as swap has room. */
        private long modelCount() {
            return listPages(Placement.PURGEABLE) + Math.max(0, Math.min(listPages(Placement.EVICTABLE),
                    swapCap - swap + listPages(Placement.EVICTED_PURGEABLE)));
        }

        /** One scan (GemShrinker.scan through the registration): returns pages freed or STOP; stats updated. */
        private long modelScan(long target, long[] scannedOut) {
            Pass p = new Pass(target);
            scanList(Placement.PURGEABLE, true, p);
            if (p.freed < p.target) {
                if (swapCap - swap < swapWanted(p)) {
                    scanList(Placement.EVICTED_PURGEABLE, true, p);
                }
                if (swapCap - swap >= 1) {
                    scanList(Placement.EVICTABLE, false, p);
                } else if (!lrus.get(Placement.EVICTABLE).isEmpty()) {
                    tag("scan-no-evict-pass-swap-full");
                }
            }
            stats.scans++;
            stats.scanned += p.scanned;
            stats.purged += p.purged;
            stats.evicted += p.evicted;
            stats.skippedLocked += p.remaining;
            if (p.freed > 0) {
                stats.freed += p.freed;
                if (p.freed < p.target) {
                    tag("scan-partial");
                }
            } else {
                stats.stops++;
                tag("scan-stop");
            }
            scannedOut[0] = p.scanned;
            return p.freed > 0 ? p.freed : Shrinker.STOP;
        }

        /** The swap room the evict pass could use: what is still missing, as far as there is evictable memory. */
        private long swapWanted(Pass p) {
            return Math.min(p.target - p.freed, listPages(Placement.EVICTABLE));
        }

        /**
         * Walks one list head first; objects looked at but not reclaimed go back at the tail, in order. The pass over
         * DONTNEED contents in swap runs while swap lacks the room the evict pass wants, and frees no RAM.
         */
        private void scanList(Placement which, boolean purge, Pass p) {
            List<Integer> lru = lrus.get(which);
            List<Integer> stillInLru = new ArrayList<>();
            boolean swapped = which == Placement.EVICTED_PURGEABLE;
            int budget = lru.size();
            while ((swapped ? swapCap - swap < swapWanted(p) : p.freed < p.target) && budget-- > 0
                    && !lru.isEmpty()) {
                int i = lru.remove(0);
                ModelObject m = model[i];
                stillInLru.add(i);
                p.scanned += m.pages;
                if (i == held || i == busy) {
                    p.remaining += m.pages;
                    tag(inDirectReclaim ? "direct-reclaim-skip-locked" : "scan-rotate-locked");
                    continue;
                }
                if (swapped) {
                    assertThat(m.purgeable()).as("model: %s on the swapped purgeable list", m).isTrue();
                    purgeObject(m);
                    tag("scan-purge-swapped");
                    stillInLru.remove(Integer.valueOf(i));
                    place(i);
                    continue;
                } else if (purge) {
                    assertThat(m.purgeable()).as("model: %s on the purgeable list", m).isTrue();
                    purgeObject(m);
                    p.purged += m.pages;
                    tag(inDirectReclaim ? "direct-reclaim-purge" : "scan-purge");
                } else {
                    assertThat(m.evictable()).as("model: %s on the evictable list", m).isTrue();
                    if (swap + m.pages > swapCap) {
                        tag("scan-rotate-swap-full");
                        continue;
                    }
                    evictObject(m);
                    p.evicted += m.pages;
                    tag(inDirectReclaim ? "direct-reclaim-evict" : "scan-evict");
                }
                p.freed += m.pages;
                stillInLru.remove(Integer.valueOf(i));
                place(i);
            }
            if (!stillInLru.isEmpty() && !lru.isEmpty()) {
                tag("scan-skipped-go-behind-unscanned"); // the rotation is visible in the order
            }
            lru.addAll(stillInLru);
        }

        /** Direct reclaim (ShrinkerRegistry.reclaim): priority 12 down to 0 until {@code target} is freed. */
        private long directReclaim(long target) {
            long freed = 0;
            for (int priority = ShrinkerRegistry.DEF_PRIORITY; priority >= 0 && freed < target; priority--) {
                freed += doShrink(priority, target - freed);
            }
            return freed;
        }

        /**
     * Linux's do_shrink_slab for the device shrinker at one priority (DEFAULT_SEEKS, batches of 128), except that a
     * scan asks for no more than the reclaim's remaining target (ShrinkerRegistry's documented difference).
     */
        private long doShrink(int priority, long target) {
            long freeable = modelCount();
            if (freeable <= 0) {
                return 0;
            }
            long nr = stats.deferred;
            stats.deferred = 0;
            long delta = (freeable >> priority) * 4 / Shrinker.DEFAULT_SEEKS;
            long totalScan = Math.min((nr >> priority) + delta, 2 * freeable);
            if (nr >> priority > 0) {
                tag("deferred-work-used");
            }
            long freedHere = 0;
            long scannedHere = 0;
            long batch = ShrinkerRegistry.DEFAULT_BATCH;
            long[] scanned = new long[1];
            while ((totalScan >= batch || totalScan >= freeable) && totalScan > 0 && freedHere < target) {
                // The registry's documented difference from Linux: never ask for more than is still wanted.
                long r = modelScan(Math.min(Math.min(batch, totalScan), target - freedHere), scanned);
                if (r == Shrinker.STOP) {
                    break;
                }
                freedHere += r;
                long s = Math.max(scanned[0], 1);
                totalScan -= s;
                scannedHere += s;
            }
            stats.deferred = Math.min(Math.max(nr + delta - scannedHere, 0), 2 * freeable);
            return freedHere;
        }

        /** Allocates n pages from the pool as PagePool.allocate does: direct reclaim when they do not fit. */
        @Override
        boolean allocate(int n) {
            if (n > ramCap) {
                return false; // more than the whole pool: no reclaim
            }
            boolean reclaimed = false;
            for (int attempt = 0; ramFree() < n && attempt < RECLAIM_RETRIES; attempt++) {
                tag(attempt == 0 ? "direct-reclaim" : "direct-reclaim-retry");
                reclaimed = true;
                inDirectReclaim = true;
                long r;
                try {
                    r = directReclaim(n - ramFree());
                } finally {
                    inDirectReclaim = false;
                }
                if (r <= 0 && ramFree() < n) {
                    reclaimGaveUp = true;
                    break;
                }
            }
            if (ramFree() < n) {
                if (reclaimed) {
                    tag("direct-reclaim-not-enough");
                }
                return false;
            }
            if (reclaimed) {
                tag("direct-reclaim-enough");
            }
            ram += n;
            return true;
        }

        // -------------------------------------------------------------- the model side: the shrinker's operations

        @Override
        Errno swapIn(ModelObject m) {
            long statsScans = stats.scans;
            Errno e = super.swapIn(m);
            if (e == null && stats.scans > statsScans) {
                tag("direct-reclaim-then-swap-in");
            }
            return e;
        }

        @Override
        Outcome predictOther(Action a, ModelObject m) {
            switch (a.kind()) {
                case SHRINK: {
                    long r = modelScan(a.len(), new long[1]);
                    return Outcome.ok("freed=" + Math.max(r, 0));
                }
                case LOCK_RESV:
                    if (held == a.obj()) {
                        return Outcome.SKIP;
                    }
                    held = a.obj();
                    return Outcome.ok("locked " + m.name);
                case UNLOCK_RESV: {
                    if (held < 0) {
                        return Outcome.SKIP;
                    }
                    String n = model[held].name;
                    held = -1;
                    return Outcome.ok("unlocked " + n);
                }
                default:
                    throw new AssertionError(a.kind());
            }
        }

        // -------------------------------------------------------------- checks after every step

        private void checkAll(Object after) {
            List<ShmemObject> known = device.objects();
            Set<String> expectedViolations = new TreeSet<>();
            for (int i = 0; i < OBJECTS; i++) {
                ShmemObject o = objs[i];
                ModelObject m = model[i];
                Object what = lazy(() -> "after " + after + "\n" + m.name + " model " + m);
                ObjectState s = o.inspect();
                observed[i] = s;
                assertThat(s.pagesUse()).as("pagesUseCount %s", what).isEqualTo(m.use);
                assertThat(s.pinCount()).as("pinCount %s", what).isEqualTo(m.pin);
                assertThat(s.vmapCount()).as("vmapCount %s", what).isEqualTo(m.vmap);
                assertThat(s.madv()).as("madv %s", what).isEqualTo(m.madv);
                assertThat(s.freed()).as("isFreed %s", what).isEqualTo(m.freed);
                assertThat(o.isResident()).as("isResident %s", what).isEqualTo(m.resident);
                assertThat(o.isEvicted()).as("isEvicted %s", what).isEqualTo(m.evicted);
                assertThat(o.hasSgt()).as("hasSgt %s", what).isEqualTo(m.sgt && m.resident);
                assertThat(s.residentPages()).as("residentPages %s", what).isEqualTo(m.resident ? m.pages : 0);
                assertThat(s.swappedPages()).as("swappedPages %s", what).isEqualTo(m.evicted ? m.pages : 0);
                assertThat(o.isPurgeable()).as("isPurgeable %s", what).isEqualTo(m.purgeable());
                assertThat(o.isEvictable()).as("isEvictable %s", what).isEqualTo(m.evictable());
                assertThat(device.placementOf(o)).as("placementOf %s", what).isEqualTo(m.placement());
                assertThat(known.contains(o)).as("device knows %s", what).isEqualTo(!m.retired);
                assertThat(o.leakReport().counts()).as("live owners %s", what).isEqualTo(m.liveOwners());
                for (Handle h : m.handles) {
                    assertThat(h.owner.isLive()).as("%s is live, %s", h, what).isEqualTo(h.live);
                }
                if (m.freed && !m.retired) {
                    expectedViolations.add(m.name + ": freed-holds-nothing");
                }
                int[] pfns = s.pfns();
                assertThat(pfns != null).as("frame array %s", what).isEqualTo(m.resident);
                if (pfns != null) {
                    for (int p = 0; p < m.pages; p++) {
                        ByteBuffer frame = device.pool().frame(pfns[p]).duplicate().clear();
                        int mismatch = frame.mismatch(ByteBuffer.wrap(m.data, p * PAGE, PAGE));
                        assertThat(mismatch).as("first wrong byte of page %d %s", p, what).isEqualTo(-1);
                    }
                }
            }
            Object where = lazy(() -> "after " + after + "\nmodel after: " + describeModel());
            assertThat(device.pool().usedPages()).as("RAM pages in use %s", where).isEqualTo(ram);
            assertThat(device.swap().usedPages()).as("swap pages in use %s", where).isEqualTo((long) swap);
            // The LRU lists, walked head (least recently used) to tail under the LRU lock.
            Map<Placement, List<String>> actualLists = new EnumMap<>(Placement.class);
            Map<Placement, List<String>> expectedLists = new EnumMap<>(Placement.class);
            device.lruLock().lock();
            try {
                for (Placement p : LISTS) {
                    GemLru<ShmemObject> lru = device.lru(p);
                    List<String> names = new ArrayList<>();
                    for (ShmemObject o = lru.head(); o != null && names.size() <= OBJECTS; o = lru.next(o)) {
                        names.add(o.name());
                    }
                    actualLists.put(p, names);
                    expectedLists.put(p, names(p));
                    assertThat(lru.pages()).as("%s list pages %s", p, where).isEqualTo(listPages(p));
                    assertThat(lru.size()).as("%s list size %s", p, where).isEqualTo(lrus.get(p).size());
                }
            } finally {
                device.lruLock().unlock();
            }
            assertThat(actualLists).as("LRU lists, head first, %s", where).isEqualTo(expectedLists);
            assertThat(device.shrinker().count()).as("shrinker count %s", where).isEqualTo(modelCount());
            assertThat(device.shrinker().stats()).as("shrinker stats %s", where)
                    .isEqualTo(stats.toStats(device.shrinker().shrinker().name()));
            if (expectedViolations.isEmpty()) {
                Invariants.assertClean(device);
            } else {
                Set<String> actual = InvariantChecker.check(device).stream()
                        .map(v -> v.subject() + ": " + v.rule()).collect(Collectors.toCollection(TreeSet::new));
                assertThat(actual).as("violations (only the leaks of freed objects) %s", where)
                        .isEqualTo(expectedViolations);
            }
        }

        /**
         * Model-independent reclaim safety: an object the operation did not target whose state changed was reclaimed,
         * so it must have been a legal victim (resident, unpinned, unmapped, unexported, with its stored sg table,
         * reservation lock not held, not freed; resident, or DONTNEED in swap) and DONTNEED must have become PURGED,
         * WILLNEED must have gone to swap.
         * A SHRINK returns exactly the resident pages its victims had.
         */
        private void checkVictims(Action a, ObjectState[] before, int heldBefore, long statsFreedBefore,
                Outcome actual, Object what) {
            long victimPages = 0;
            for (int i = 0; i < OBJECTS; i++) {
                if (touchesObject(a) && i == a.obj()) {
                    continue;
                }
                ObjectState b = before[i];
                ObjectState n = observed[i];
                boolean changed = b.madv() != n.madv() || (b.pfns() != null) != (n.pfns() != null)
                        || b.swappedPages() != n.swappedPages() || b.pagesUse() != n.pagesUse()
                        || b.sgtStored() != n.sgtStored();
                if (!changed) {
                    continue;
                }
                Object v = lazy(() -> "reclaim victim " + b.name() + " of " + what
                        + "\nbefore: " + b + "\nafter: " + n);
                assertThat(i).as("resv held: %s", v).isNotEqualTo(heldBefore);
                assertThat(b.freed()).as("freed: %s", v).isFalse();
                assertThat(b.pinCount()).as("pinned: %s", v).isZero();
                assertThat(b.vmapCount()).as("mapped: %s", v).isZero();
                assertThat(b.owners(OwnerKind.EXPORT_HANDLE)).as("exported: %s", v).isZero();
                assertThat(b.sgtStored()).as("had its sg table: %s", v).isTrue();
                if (b.pfns() == null) {
                    // DONTNEED contents in swap, purged to make swap room: frees no RAM.
                    assertThat(b.madv()).as("only DONTNEED contents are purged from swap: %s", v)
                            .isEqualTo(Madv.DONTNEED);
                    assertThat(b.swappedPages()).as("was in swap: %s", v).isEqualTo(b.pageCount());
                }
                assertThat(n.pfns()).as("is not resident: %s", v).isNull();
                if (b.madv() == Madv.DONTNEED) {
                    assertThat(n.madv()).as("DONTNEED becomes PURGED: %s", v).isEqualTo(Madv.PURGED);
                    assertThat(n.swappedPages()).as("purged holds no swap: %s", v).isZero();
                } else {
                    assertThat(b.madv()).as("only DONTNEED or WILLNEED is reclaimed: %s", v)
                            .isEqualTo(Madv.WILLNEED);
                    assertThat(n.madv()).as("WILLNEED stays WILLNEED: %s", v).isEqualTo(Madv.WILLNEED);
                    assertThat(n.swappedPages()).as("WILLNEED goes to swap: %s", v).isEqualTo(b.pageCount());
                    assertThat(n.pagesUse()).as("eviction keeps the uses: %s", v).isEqualTo(b.pagesUse());
                }
                victimPages += b.residentPages();
            }
            if (a.kind() == Kind.SHRINK) {
                assertThat(actual).as("SHRINK returns the victims' resident pages: %s", what)
                        .isEqualTo(Outcome.ok("freed=" + victimPages));
                assertThat(device.shrinker().stats().freed() - statsFreedBefore)
                        .as("stats count what SHRINK freed: %s", what).isEqualTo(victimPages);
            }
        }
    }
}
