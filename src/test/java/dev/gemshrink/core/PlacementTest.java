package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.GemException;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.GemLru;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.LeakWarnings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The LRU an object sits on for every state (docs/kernel-model.md section 3), as seen through {@link
 * GemDevice#placementOf}, the move back when a state reverts, and LRU order: the object changed last is at the tail of
 * its list.
 */
class PlacementTest {
    private static final int PAGE = PagePool.PAGE_SIZE;

    private GemDevice device;

    @BeforeEach
    void setUp() {
        device = GemDevice.builder().ramPages(256).swap(SwapStore.inMemory(256))
                .leakDetection(LeakDetection.SIMPLE).build();
        step();
    }

    @AfterEach
    void tearDown() {
        device.close();
    }

    private void step() {
        Invariants.assertClean(device);
    }

    private ShmemObject create(String name, int pages) {
        ShmemObject o = device.createObject(name, (long) pages * PAGE);
        step();
        return o;
    }

    /** An object with its stored sg table (all pages resident), WILLNEED. */
    private ShmemObject withSgt(String name, int pages) {
        ShmemObject o = create(name, pages);
        o.getPagesSgt();
        step();
        return o;
    }

    private Placement placement(ShmemObject o) {
        return device.placementOf(o);
    }

    /** The objects on one LRU from head (least recently used) to tail, read under the LRU lock. */
    private List<ShmemObject> lru(Placement p) {
        List<ShmemObject> out = new ArrayList<>();
        device.lruLock().lock();
        try {
            GemLru<ShmemObject> l = device.lru(p);
            for (ShmemObject o = l.head(); o != null; o = l.next(o)) {
                out.add(o);
            }
        } finally {
            device.lruLock().unlock();
        }
        return out;
    }

    private void assertOn(ShmemObject o, Placement p, long weight) {
        assertThat(placement(o)).as("placement of %s", o.name()).isEqualTo(p);
        device.lruLock().lock();
        try {
            assertThat(o.lruWeight()).as("LRU weight of %s", o.name()).isEqualTo(weight);
        } finally {
            device.lruLock().unlock();
        }
    }

    private void assertTail(Placement p, ShmemObject o) {
        List<ShmemObject> l = lru(p);
        assertThat(l).as("%s list", p).isNotEmpty();
        assertThat(l.get(l.size() - 1)).as("tail of the %s list", p).isSameAs(o);
    }

    @Test
    void aNewObjectWithoutPagesIsOnNoList() {
        ShmemObject o = create("fresh", 4);
        assertOn(o, Placement.NONE, 0);
        o.madvise(Madv.DONTNEED);
        step();
        assertOn(o, Placement.NONE, 0);
        for (Placement p : List.of(Placement.PURGEABLE, Placement.EVICTABLE, Placement.EVICTED, Placement.PINNED)) {
            assertThat(lru(p)).as("%s list", p).isEmpty();
            assertThat(device.lru(p).pages()).isZero();
        }
    }

    @Test
    void aPageHandleWithoutAStoredSgtIsResidentButNotReclaimable() {
        ShmemObject o = create("handle", 4);
        try (PagesRef ref = o.getPages()) {
            step();
            assertThat(ref.isLive()).isTrue();
            assertOn(o, Placement.PINNED, 4);
            o.madvise(Madv.DONTNEED); // still no sg table: not purgeable
            step();
            assertOn(o, Placement.PINNED, 4);
            o.madvise(Madv.WILLNEED);
            step();
        }
        step();
        assertOn(o, Placement.NONE, 0);
        assertThat(device.pool().usedPages()).isZero();
    }

    @Test
    void aStoredSgtMakesAWillneedObjectEvictable() {
        ShmemObject o = withSgt("sgt", 3);
        assertOn(o, Placement.EVICTABLE, 3);
        assertThat(lru(Placement.EVICTABLE)).containsExactly(o);
        assertThat(device.lru(Placement.EVICTABLE).pages()).isEqualTo(3);
        assertThat(device.lru(Placement.EVICTABLE).size()).isEqualTo(1);
    }

    @Test
    void dontneedMakesItPurgeableAndWillneedMovesItBack() {
        ShmemObject o = withSgt("dontneed", 2);
        assertThat(o.madvise(Madv.DONTNEED)).isTrue();
        step();
        assertOn(o, Placement.PURGEABLE, 2);
        assertThat(lru(Placement.EVICTABLE)).isEmpty();
        assertThat(lru(Placement.PURGEABLE)).containsExactly(o);

        assertThat(o.madvise(Madv.WILLNEED)).isTrue();
        step();
        assertOn(o, Placement.EVICTABLE, 2);
        assertThat(lru(Placement.PURGEABLE)).isEmpty();
    }

    @Test
    void aPinnedObjectIsPinnedAndUnpinMovesItBack() {
        ShmemObject o = withSgt("pinned", 2);
        Pin pin = o.pin();
        step();
        assertOn(o, Placement.PINNED, 2);
        Pin second = o.pin(); // the fast path keeps it where it is
        step();
        assertOn(o, Placement.PINNED, 2);
        second.close();
        step();
        assertOn(o, Placement.PINNED, 2);
        o.madvise(Madv.DONTNEED); // pinned wins over DONTNEED
        step();
        assertOn(o, Placement.PINNED, 2);
        pin.close();
        step();
        assertOn(o, Placement.PURGEABLE, 2);
        o.madvise(Madv.WILLNEED);
        step();
        assertOn(o, Placement.EVICTABLE, 2);
    }

    @Test
    void aPinWithoutAStoredSgtIsPinnedAndUnpinTakesItOffTheLists() {
        ShmemObject o = create("pin-only", 2);
        Pin pin = o.pin();
        step();
        assertOn(o, Placement.PINNED, 2);
        pin.close();
        step();
        assertOn(o, Placement.NONE, 0);
    }

    @Test
    void aVmappedObjectIsPinnedAndVunmapMovesItBack() {
        ShmemObject o = withSgt("vmapped", 2);
        o.madvise(Madv.DONTNEED);
        step();
        VMap map = o.vmap();
        step();
        assertOn(o, Placement.PINNED, 2);
        map.close();
        step();
        assertOn(o, Placement.PURGEABLE, 2);
    }

    @Test
    void anExportedObjectIsPinnedWhateverItsAdvice() {
        ShmemObject o = withSgt("exported", 2);
        Export e = o.export();
        step();
        assertOn(o, Placement.PINNED, 2);
        o.madvise(Madv.DONTNEED);
        step();
        assertOn(o, Placement.PINNED, 2);
        assertThat(o.isPurgeable()).isFalse();
        e.close();
        step();
        assertOn(o, Placement.PURGEABLE, 2);
    }

    @Test
    void anEvictedObjectIsOnTheEvictedListWeighingItsSwappedPages() {
        ShmemObject o = withSgt("evicted", 3);
        byte[] data = {1, 2, 3, 4};
        o.write(PAGE + 10, data);
        step();
        assertThat(o.evict()).isEqualTo(3);
        step();
        assertOn(o, Placement.EVICTED, 3);
        assertThat(lru(Placement.EVICTED)).containsExactly(o);
        assertThat(lru(Placement.EVICTABLE)).isEmpty();
        assertThat(device.lru(Placement.EVICTED).pages()).isEqualTo(3);
        assertThat(device.pool().usedPages()).isZero();

        // Swap-in through get_pages_sgt moves it back to the evictable list, contents intact.
        o.getPagesSgt();
        step();
        assertOn(o, Placement.EVICTABLE, 3);
        assertThat(lru(Placement.EVICTED)).isEmpty();
        byte[] back = new byte[data.length];
        o.read(PAGE + 10, back);
        step();
        assertThat(back).containsExactly(data);
    }

    @Test
    void swapInByACpuAccessMovesItBackToTheEvictableTail() {
        ShmemObject a = withSgt("a", 1);
        ShmemObject b = withSgt("b", 1);
        a.evict();
        step();
        assertOn(a, Placement.EVICTED, 1);
        byte[] buf = new byte[8];
        a.read(0, buf); // vmap swaps in, vunmap leaves it resident with its sg table
        step();
        assertOn(a, Placement.EVICTABLE, 1);
        assertThat(lru(Placement.EVICTABLE)).containsExactly(b, a);
    }

    @Test
    void anEvictedObjectMarkedDontneedMovesToTheSwappedPurgeableListAndBack() {
        ShmemObject o = withSgt("evicted-dontneed", 2);
        o.evict();
        step();
        o.madvise(Madv.DONTNEED);
        step();
        assertOn(o, Placement.EVICTED_PURGEABLE, 2);
        o.madvise(Madv.WILLNEED);
        step();
        assertOn(o, Placement.EVICTED, 2);
        o.madvise(Madv.DONTNEED);
        step();
        o.purge(); // purgeable by its state (the swap copy is released)
        step();
        assertOn(o, Placement.NONE, 0);
        assertThat(device.swap().usedPages()).isZero();
    }

    @Test
    void aPurgedObjectIsOnNoListForGood() {
        ShmemObject o = withSgt("purged", 2);
        o.madvise(Madv.DONTNEED);
        step();
        assertThat(o.purge()).isEqualTo(2);
        step();
        assertOn(o, Placement.NONE, 0);
        assertThat(o.madvise(Madv.WILLNEED)).isFalse();
        step();
        assertOn(o, Placement.NONE, 0);
        assertThat(lru(Placement.PURGEABLE)).isEmpty();
        assertThat(device.pool().usedPages()).isZero();
    }

    @Test
    void aFreedObjectIsOnNoList() {
        ShmemObject o = withSgt("freed", 2);
        assertOn(o, Placement.EVICTABLE, 2);
        assertThat(o.free().isEmpty()).isTrue();
        step();
        assertOn(o, Placement.NONE, 0);
        assertThat(lru(Placement.EVICTABLE)).isEmpty();

        ShmemObject e = withSgt("freed-evicted", 2);
        e.evict();
        step();
        assertThat(e.free().isEmpty()).isTrue();
        step();
        assertOn(e, Placement.NONE, 0);
        assertThat(lru(Placement.EVICTED)).isEmpty();
        Invariants.assertEmpty(device);
    }

    @Test
    void aFreedObjectWithALeakedHandleIsOnNoList() {
        ShmemObject o = withSgt("leaky", 2);
        PagesRef leaked = o.getPages();
        step();
        assertThat(LeakWarnings.freeLeaking(o).isEmpty()).isFalse();
        // The leak itself is the only violation: the freed object is on no list and still holds the leaked pages.
        assertThat(InvariantChecker.check(device)).extracting(Violation::rule)
                .containsExactly("freed-holds-nothing");
        assertOn(o, Placement.NONE, 0);
        leaked.close();
        step();
        Invariants.assertEmpty(device);
    }

    @Test
    void theObjectChangedLastIsAtTheTail() {
        ShmemObject a = withSgt("a", 1);
        ShmemObject b = withSgt("b", 2);
        ShmemObject c = withSgt("c", 3);
        assertThat(lru(Placement.EVICTABLE)).containsExactly(a, b, c);
        assertThat(device.lru(Placement.EVICTABLE).pages()).isEqualTo(6);

        a.getPagesSgt(); // a use (even one that changes nothing) moves it to the tail
        step();
        assertThat(lru(Placement.EVICTABLE)).containsExactly(b, c, a);
        assertTail(Placement.EVICTABLE, a);

        b.madvise(Madv.DONTNEED);
        c.madvise(Madv.DONTNEED);
        step();
        assertThat(lru(Placement.EVICTABLE)).containsExactly(a);
        assertThat(lru(Placement.PURGEABLE)).containsExactly(b, c);
        assertThat(device.lru(Placement.PURGEABLE).pages()).isEqualTo(5);

        try (Pin p = b.pin()) {
            step();
            assertThat(p.isLive()).isTrue();
            assertThat(lru(Placement.PURGEABLE)).containsExactly(c);
            assertThat(lru(Placement.PINNED)).containsExactly(b);
        }
        step();
        assertThat(lru(Placement.PURGEABLE)).containsExactly(c, b);
        assertTail(Placement.PURGEABLE, b);

        c.madvise(Madv.WILLNEED);
        step();
        assertThat(lru(Placement.EVICTABLE)).containsExactly(a, c);
        c.madvise(Madv.DONTNEED);
        step();
        assertThat(lru(Placement.PURGEABLE)).containsExactly(b, c);

        a.evict();
        step();
        assertThatThrownBy(c::evict).isInstanceOf(GemException.class); // not evictable: DONTNEED
        step();
        assertThat(lru(Placement.PURGEABLE)).containsExactly(b, c);
        assertThat(lru(Placement.EVICTED)).containsExactly(a);
    }

    @Test
    void headAndNextWalkFromLeastToMostRecentlyUsed() {
        ShmemObject[] objs = new ShmemObject[5];
        for (int i = 0; i < objs.length; i++) {
            objs[i] = withSgt("o" + i, 1);
        }
        objs[2].getPagesSgt();
        objs[0].getPagesSgt();
        step();
        device.lruLock().lock();
        try {
            GemLru<ShmemObject> l = device.lru(Placement.EVICTABLE);
            ShmemObject n = l.head();
            List<String> names = new ArrayList<>();
            while (n != null) {
                names.add(n.name());
                n = l.next(n);
            }
            assertThat(names).containsExactly("o1", "o3", "o4", "o2", "o0");
        } finally {
            device.lruLock().unlock();
        }
        assertThat(Arrays.stream(objs).mapToLong(o -> device.placementOf(o) == Placement.EVICTABLE ? 1 : 0).sum())
                .isEqualTo(5);
    }
}
