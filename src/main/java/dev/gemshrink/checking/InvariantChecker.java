package dev.gemshrink.checking;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.core.OwnerKind;
import dev.gemshrink.core.Placement;
import dev.gemshrink.core.ReclaimDomain;
import dev.gemshrink.core.ReclaimStage;
import dev.gemshrink.core.ReclaimStages;
import dev.gemshrink.core.RefKind;
import dev.gemshrink.core.RefTransition;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.SwapFinding;
import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.reclaim.ReclaimOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;

/**
 * Verifies every invariant of an object and of a device, returning the violations (an empty list when all hold).
 * Cheap enough to run after every step of a test: O(pages) per object. Each object is read under its reservation
 * lock; device-wide sums are exact only when no other thread is changing the device.
 *
 * <p>Per object: each count equals its live owners; the object's own owners exist exactly when their counts say
 * (a pin holds a page use, a vmap holds a pin); pages are present iff in use, not evicted, not discarded and not
 * purged; the recorded resident count matches the frame array; an evicted object keeps a use, holds no frames and
 * is unpinned; a discarded one keeps a use and holds neither frames nor swap;
 * a purged one holds no pages, no sg table, no swap; a freed one holds nothing; the object sits on the LRU its
 * state implies (derived here again from the raw facts) with the right weight; its derived reclaim stage refines
 * that placement, its latest recorded move names that stage, and it is on exactly that stage's list in the domain
 * the stage implies (a live object always on one list, a freed one on none). Per device: RAM in use equals the
 * frames of the objects, no frame belongs to two objects or is both free and owned, swap in use equals the
 * objects' swapped pages, the swap store's audit of the objects' receipts finds each receipt live and covering its
 * pages, no slot owned twice and none leaked ({@link dev.gemshrink.memory.SwapStore#audit}), each LRU's page
 * total and size equal the sums over the objects on it, each stage's O(1) total equals the sum over its lists in
 * every domain, the domain LRU holds exactly the domains with objects on per-domain lists, and a reclaim policy's
 * order (other than LRU's) holds exactly
 * the objects of the resident lists.
 *
 * <p>Every object violation names the live owner kinds and counts; with reference tracking on
 * ({@link dev.gemshrink.core.LeakDetection#PARANOID}) also where each was acquired, and a count that does not add up
 * lists the transitions no held owner accounts for, with their sites. A device violation names the objects whose
 * numbers are involved.
 */
public final class InvariantChecker {
    private InvariantChecker() {
    }

    /**
     * Checks one object.
     *
     * @param obj the object
     * @return the violations found
     */
    public static List<Violation> check(ShmemObject obj) {
        List<Violation> out = new ArrayList<>();
        check(obj.inspect(), out);
        return out;
    }

    /**
     * Checks every object of a device and the device's memory accounting.
     *
     * @param device the device
     * @return the violations found
     */
    public static List<Violation> check(GemDevice device) {
        List<Violation> out = new ArrayList<>();
        int total = device.pool().totalPages();
        BitSet owned = new BitSet(total);
        long resident = 0;
        long swapped = 0;
        Map<SwapSlots, String> receipts = new IdentityHashMap<>();
        Map<GemLru<?>, long[]> onList = new IdentityHashMap<>();
        Map<ReclaimDomain, Boolean> homes = new IdentityHashMap<>();
        homes.put(device.domain(), Boolean.FALSE);
        List<ObjectState> states = new ArrayList<>();
        for (ShmemObject o : device.objects()) {
            ObjectState s = o.inspect();
            states.add(s);
            ReclaimStage on = s.stageOn();
            boolean perDomain = on != null && on.perDomain() && o.home() != device.domain();
            homes.merge(o.home(), perDomain, Boolean::logicalOr);
            if (on != null) {
                long[] sum = onList.computeIfAbsent((perDomain ? o.home() : device.domain()).list(on),
                        k -> new long[2]);
                sum[0] += s.lruWeight();
                sum[1]++;
            }
            check(s, out);
            resident += s.residentPages();
            swapped += s.swappedPages();
            if (s.swapSlots() != null) {
                String other = receipts.putIfAbsent(s.swapSlots(), s.name());
                if (other != null) {
                    out.add(new Violation(s.name(), "swap-receipt-owned-once", "its swap receipt also belongs to "
                            + other));
                }
            }
            if (s.pfns() != null) {
                for (int pfn : s.pfns()) {
                    if (pfn < 0) {
                        continue;
                    }
                    if (pfn >= total) {
                        out.add(new Violation(s.name(), "frame-in-pool", "frame " + pfn + " is outside the pool"));
                    } else if (owned.get(pfn)) {
                        out.add(new Violation(s.name(), "frame-owned-once", "frame " + pfn
                                + " also belongs to another object"));
                    } else {
                        owned.set(pfn);
                    }
                }
            }
        }
        for (int pfn : device.pool().freeFrames()) {
            if (owned.get(pfn)) {
                out.add(new Violation("device", "free-frame-unowned", "frame " + pfn
                        + " is free in the pool but held by an object"));
            }
        }
        int used = device.pool().usedPages();
        if (used != resident) {
            BitSet stray = new BitSet(total);
            stray.set(0, total);
            stray.andNot(owned);
            for (int pfn : device.pool().freeFrames()) {
                stray.clear(pfn);
            }
            out.add(new Violation("device", "pool-used-equals-resident", "pool has " + used
                    + " pages in use but objects hold " + resident + "; frames in use that no object holds: "
                    + (stray.isEmpty() ? "none" : stray.stream().limit(NAMED).mapToObj(Integer::toString)
                            .collect(Collectors.joining(",")) + (stray.cardinality() > NAMED ? ",..." : ""))
                    + "; objects holding frames: " + named(states, ObjectState::residentPages)));
        }
        checkLists(device, homes, onList, states, out);
        checkReclaimOrder(device, states, out);
        long swapUsed = device.swap().usedPages();
        if (swapUsed != swapped) {
            List<String> strays = new ArrayList<>();
            for (ObjectState s : states) {
                for (String stray : s.straySwap()) {
                    strays.add(s.name() + ": " + stray);
                }
            }
            out.add(new Violation("device", "swap-used-equals-swapped", "swap has " + swapUsed
                    + " pages in use but objects hold " + swapped + " " + swapHolders(receipts)
                    + (!strays.isEmpty() ? "; " + String.join("; ", strays)
                            : states.stream().anyMatch(s -> s.trackedOwners() >= 0) ? ""
                            : " (reference tracking names who was given the rest)")));
        }
        for (SwapFinding f : device.swap().audit(receipts)) {
            out.add(new Violation(f.holder().equals("swap") ? "device" : f.holder(), f.rule(), f.detail()));
        }
        return out;
    }

    /** Names the objects holding swap and their pages, so a mismatch of totals points at the objects involved. */
    private static String swapHolders(Map<SwapSlots, String> receipts) {
        StringBuilder b = new StringBuilder("(held by:");
        receipts.forEach((slots, holder) -> b.append(' ').append(holder).append('=').append(slots.pages()));
        return b.append(receipts.isEmpty() ? " none)" : ")").toString();
    }

    private static void check(ObjectState s, List<Violation> all) {
        String n = s.name();
        List<Violation> out = new ArrayList<>();
        expect(out, n, "use-count-equals-owners", s.pagesUse() == s.owners(RefKind.PAGES),
                () -> "pages_use=" + s.pagesUse() + " but live page owners=" + s.owners(RefKind.PAGES)
                        + unmatched(s, RefKind.PAGES));
        expect(out, n, "pin-count-equals-owners", s.pinCount() == s.owners(RefKind.PIN),
                () -> "pin=" + s.pinCount() + " but live pin owners=" + s.owners(RefKind.PIN)
                        + unmatched(s, RefKind.PIN));
        expect(out, n, "vmap-count-equals-owners", s.vmapCount() == s.owners(RefKind.VMAP),
                () -> "vmap=" + s.vmapCount() + " but live vmap owners=" + s.owners(RefKind.VMAP)
                        + unmatched(s, RefKind.VMAP));
        expect(out, n, "pin-holds-one-use", s.pinUseHeld() == (s.pinCount() > 0)
                        && s.owners(OwnerKind.PAGES_PIN) == (s.pinCount() > 0 ? 1 : 0),
                () -> "pin=" + s.pinCount() + " pins' use held=" + s.pinUseHeld() + " tally="
                        + s.owners(OwnerKind.PAGES_PIN));
        expect(out, n, "vmap-holds-one-pin", s.vmapPinHeld() == (s.vmapCount() > 0)
                        && s.owners(OwnerKind.PIN_VMAP) == (s.vmapCount() > 0 ? 1 : 0),
                () -> "vmap=" + s.vmapCount() + " mappings' pin held=" + s.vmapPinHeld() + " tally="
                        + s.owners(OwnerKind.PIN_VMAP));
        expect(out, n, "sgt-owns-one-use", s.owners(OwnerKind.PAGES_SGT) == (s.sgtStored() ? 1 : 0),
                () -> "sgt stored=" + s.sgtStored() + " but sgt page owners=" + s.owners(OwnerKind.PAGES_SGT));
        if (s.trackedOwners() >= 0) {
            int sum = s.tally().values().stream().mapToInt(Integer::intValue).sum();
            expect(out, n, "tracked-owners-equal-tally", s.trackedOwners() == sum,
                    () -> "reference tracking holds " + s.trackedOwners() + " owners, tally " + sum
                            + unmatched(s, null));
        }
        boolean purged = s.madv() == Madv.PURGED;
        boolean present = s.pfns() != null;
        expect(out, n, "pages-present-iff-used", present == (s.pagesUse() > 0 && !s.evicted() && !s.discarded() && !purged),
                () -> "page array " + (present ? "present" : "absent") + " with pages_use=" + s.pagesUse()
                        + " evicted=" + s.evicted() + " madv=" + s.madv());
        int counted = 0;
        if (present) {
            for (int pfn : s.pfns()) {
                if (pfn >= 0) {
                    counted++;
                }
            }
            expect(out, n, "page-array-size", s.pfns().length == s.pageCount(),
                    () -> "page array of " + s.pfns().length + " for " + s.pageCount() + " pages");
        }
        int c = counted;
        expect(out, n, "resident-count", c == s.residentPages(),
                () -> "frames held=" + c + " but resident count=" + s.residentPages());
        if (s.evicted()) {
            expect(out, n, "evicted-state", s.swappedPages() == s.pageCount() && s.pagesUse() > 0
                            && s.pinCount() == 0 && !present && !purged,
                    () -> "evicted with swapped=" + s.swappedPages() + " pages_use=" + s.pagesUse() + " pin="
                            + s.pinCount() + " resident=" + present + " madv=" + s.madv());
        }
        if (s.discarded()) {
            expect(out, n, "discarded-state", s.pagesUse() > 0 && s.pinCount() == 0 && !present
                            && s.swappedPages() == 0 && !purged && !s.freed(),
                    () -> "discarded with pages_use=" + s.pagesUse() + " pin=" + s.pinCount() + " resident="
                            + present + " swapped=" + s.swappedPages() + " madv=" + s.madv());
        }
        if (s.pinCount() > 0) {
            expect(out, n, "pinned-is-resident", present && !s.evicted(),
                    () -> "pin=" + s.pinCount() + " but resident=" + present + " evicted=" + s.evicted());
        }
        if (purged) {
            expect(out, n, "purged-holds-nothing", !present && !s.sgtStored() && s.swappedPages() == 0,
                    () -> "purged with pages=" + present + " sgt=" + s.sgtStored() + " swapped=" + s.swappedPages());
        }
        Placement expected = expectedPlacement(s);
        long weight = expected == Placement.NONE ? 0
                : expected == Placement.EVICTED || expected == Placement.EVICTED_PURGEABLE ? s.swappedPages()
                : s.residentPages();
        expect(out, n, "lru-move", s.movedTo() == s.stage(),
                () -> "its latest LRU move names stage " + s.movedTo() + " but its state implies " + s.stage());
        expect(out, n, "stage-placement", s.freed() ? s.stage() == null
                : s.stage() != null && s.stage().placement() == expected,
                () -> "its derived stage " + s.stage() + " refines " + (s.stage() == null ? "nothing"
                        : s.stage().placement()) + " but its state implies " + expected);
        expect(out, n, "stage-list", s.stageOn() == s.stage(),
                () -> s.freed() ? "freed but on the list of stage " + s.stageOn()
                        : "on " + (s.stageOn() == null ? "no list of its domains" : "the list of stage "
                                + s.stageOn()) + " but its derived stage is " + s.stage());
        expect(out, n, "lru-placement", s.placement() == expected && s.lruWeight() == weight,
                () -> "on " + s.placement() + " weighing " + s.lruWeight() + " but its state implies " + expected
                        + " weighing " + weight);
        if (s.freed()) {
            int live = s.tally().values().stream().mapToInt(Integer::intValue).sum();
            expect(out, n, "freed-holds-nothing", live == 0 && !present && s.swappedPages() == 0,
                    () -> "freed but holds " + live + " owners, pages=" + present + ", swapped="
                            + s.swappedPages() + unmatched(s, null));
        }
        for (Violation v : out) {
            all.add(new Violation(v.subject(), v.rule(), v.detail() + "; owners: " + owners(s)));
        }
    }

    /** How many objects a device-level violation names at most. */
    private static final int NAMED = 8;

    /** The objects with a non-zero number, as {@code name=number}, at most {@link #NAMED} of them. */
    private static String named(List<ObjectState> states, ToIntFunction<ObjectState> number) {
        List<String> names = new ArrayList<>();
        for (ObjectState s : states) {
            int v = number.applyAsInt(s);
            if (v != 0) {
                names.add(s.name() + "=" + v);
            }
        }
        if (names.isEmpty()) {
            return "none";
        }
        return String.join(", ", names.subList(0, Math.min(NAMED, names.size())))
                + (names.size() > NAMED ? ", and " + (names.size() - NAMED) + " more" : "");
    }

    /**
     * The open transitions of a count (all counts for null) that no held owner accounts for, with their sites:
     * empty when tracking is off or all are matched.
     */
    private static String unmatched(ObjectState s, RefKind ref) {
        String list = s.transitions().stream().filter(t -> !t.matched() && (ref == null || t.ref() == ref))
                .map(RefTransition::toString).collect(Collectors.joining(", "));
        return list.isEmpty() ? "" : ": " + list;
    }

    /**
     * The live owners: each kind with its count, and with tracking on where each was acquired; {@code none} when
     * there are none.
     */
    private static String owners(ObjectState s) {
        Map<OwnerKind, Integer> live = liveOwners(s);
        if (live.isEmpty()) {
            return "none";
        }
        StringBuilder sb = new StringBuilder();
        live.forEach((k, count) -> {
            sb.append(sb.length() == 0 ? "" : ", ").append(k).append(" x").append(count);
            String sites = s.transitions().stream().filter(t -> t.matched() && t.owner() == k)
                    .map(RefTransition::site).collect(Collectors.joining(", "));
            if (!sites.isEmpty()) {
                sb.append(" (at ").append(sites).append(')');
            }
        });
        return sb.toString();
    }

    /** The owner kinds with live owners, in declaration order: the tally without its zeros. */
    private static Map<OwnerKind, Integer> liveOwners(ObjectState s) {
        Map<OwnerKind, Integer> out = new EnumMap<>(OwnerKind.class);
        s.tally().forEach((k, n) -> {
            if (n != 0) {
                out.put(k, n);
            }
        });
        return out;
    }

    /**
     * Each list's page total and size equal the sums over the objects on it, in the device's domain and in every
     * home domain of an object; each stage's device total equals the sum over its lists; and the device's domain
     * LRU holds exactly the domains with objects on per-domain lists.
     */
    private static void checkLists(GemDevice device, Map<ReclaimDomain, Boolean> homes,
            Map<GemLru<?>, long[]> onList, List<ObjectState> states, List<Violation> out) {
        ReclaimStages stages = device.reclaimStages();
        for (ReclaimStage st : stages.stages()) {
            long pages = 0;
            long size = 0;
            for (ReclaimDomain d : homes.keySet()) {
                if (!d.hasList(st)) {
                    continue;
                }
                GemLru<ShmemObject> lru = d.list(st);
                long[] sum = onList.getOrDefault(lru, new long[2]);
                pages += sum[0];
                size += sum[1];
                if (lru.pages() != sum[0] || lru.size() != sum[1]) {
                    out.add(new Violation("device", "lru-totals", lru.name() + " list counts " + lru.pages()
                            + " pages in " + lru.size() + " objects but its objects weigh " + sum[0] + " pages in "
                            + sum[1] + ": " + named(states.stream().filter(s -> s.stageOn() == st).toList(),
                                    s -> (int) s.lruWeight())));
                }
            }
            GemLru.Total t = device.total(st);
            if (t.pages() != pages || t.size() != size) {
                out.add(new Violation("device", "stage-totals", "stage " + st + " counts " + t.pages()
                        + " pages in " + t.size() + " objects but its lists hold " + pages + " pages in " + size));
            }
        }
        List<ReclaimDomain> linked = device.domainsInLruOrder();
        for (Map.Entry<ReclaimDomain, Boolean> e : homes.entrySet()) {
            ReclaimDomain d = e.getKey();
            boolean isLinked = linked.stream().anyMatch(x -> x == d);
            if (d != device.domain() && isLinked != e.getValue()) {
                out.add(new Violation("device", "domain-lru", d.name() + (isLinked
                        ? " is on the domain LRU without objects on its per-domain lists"
                        : " has objects on its per-domain lists but is not on the domain LRU")));
            }
        }
        for (ReclaimDomain d : linked) {
            if (!homes.containsKey(d)) {
                out.add(new Violation("device", "domain-lru", d.name() + " is on the domain LRU but is the home of"
                        + " no object"));
            }
        }
    }

    /** A reclaim policy's order holds exactly the objects of the resident lists (it links them; they count them). */
    private static void checkReclaimOrder(GemDevice device, List<ObjectState> states, List<Violation> out) {
        ReclaimStage pinned = device.reclaimStages().stages().stream().filter(x -> x.placement().resident())
                .findFirst().orElseThrow();
        ReclaimOrder order = device.domain().list(pinned).order(); // every resident list shares the device's order
        if (order == null) {
            return;
        }
        long resident = states.stream().filter(s -> s.stageOn() != null && s.stageOn().placement().resident())
                .count();
        int held;
        device.lruLock().lock();
        try {
            held = order.size();
        } finally {
            device.lruLock().unlock();
        }
        if (held != resident) {
            out.add(new Violation("device", "reclaim-order", "the " + device.reclaimPolicy() + " order holds " + held
                    + " objects but the resident lists hold " + resident));
        }
    }

    /** The LRU an object's state implies, derived from the raw facts (docs/kernel-model.md section 3). */
    private static Placement expectedPlacement(ObjectState s) {
        if (s.freed() || s.madv() == Madv.PURGED) {
            return Placement.NONE;
        }
        boolean reclaimable = s.pinCount() == 0 && s.sgtStored() && s.owners(OwnerKind.EXPORT_HANDLE) == 0;
        if (s.evicted()) {
            return reclaimable && s.madv() == Madv.DONTNEED ? Placement.EVICTED_PURGEABLE : Placement.EVICTED;
        }
        if (s.pfns() == null) {
            return Placement.NONE;
        }
        if (reclaimable && s.madv() == Madv.DONTNEED) {
            return Placement.PURGEABLE;
        }
        if (reclaimable && s.residentPages() == s.pageCount()) {
            return Placement.EVICTABLE;
        }
        return Placement.PINNED;
    }

    private static void expect(List<Violation> out, String subject, String rule, boolean holds,
            java.util.function.Supplier<String> detail) {
        if (!holds) {
            out.add(new Violation(subject, rule, detail.get()));
        }
    }
}
