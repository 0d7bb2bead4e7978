package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link GemLru}, the intrusive LRU list: order (head is least recently used), move to tail, removal, splicing,
 * O(1) totals of pages and elements, and moving elements between lists that share one lock.
 */
class GemLruTest {

    /** A plain element with a name for readable failures; its reclaim key is the name's hash unless given. */
    static final class Node extends LruNode {
        final String name;
        final long key;

        Node(String name) {
            this(name, name.hashCode());
        }

        Node(String name, long key) {
            this.name = name;
            this.key = key;
        }

        @Override
        protected long reclaimKey() {
            return key;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final GemLru<Node> a = new GemLru<>("a", lock);
    private final GemLru<Node> b = new GemLru<>("b", lock);
    private final Node n1 = new Node("n1");
    private final Node n2 = new Node("n2");
    private final Node n3 = new Node("n3");
    private final Node n4 = new Node("n4");

    @BeforeEach
    void lock() {
        lock.lock();
    }

    @AfterEach
    void unlock() {
        while (lock.isHeldByCurrentThread()) {
            lock.unlock();
        }
    }

    /** Walks the list from head to tail with head()/next(). */
    private static List<Node> walk(GemLru<Node> lru) {
        List<Node> out = new ArrayList<>();
        for (Node n = lru.head(); n != null; n = lru.next(n)) {
            out.add(n);
        }
        return out;
    }

    /** The list's own invariants: links agree with membership, and the O(1) totals equal the sums. */
    private static void assertConsistent(GemLru<Node> lru) {
        List<Node> nodes = walk(lru);
        long pages = 0;
        for (Node n : nodes) {
            assertThat(n.lru()).as("%s sits on %s", n, lru.name()).isSameAs(lru);
            pages += n.lruWeight();
        }
        assertThat(lru.size()).as("size of %s", lru.name()).isEqualTo(nodes.size());
        assertThat(lru.pages()).as("pages of %s", lru.name()).isEqualTo(pages);
        if (nodes.isEmpty()) {
            assertThat(lru.head()).isNull();
        } else {
            assertThat(lru.next(nodes.get(nodes.size() - 1))).as("after the tail").isNull();
        }
    }

    private void assertLists() {
        assertConsistent(a);
        assertConsistent(b);
    }

    @Test
    void emptyListHasNoHeadAndZeroTotals() {
        assertThat(a.head()).isNull();
        assertThat(a.pages()).isZero();
        assertThat(a.size()).isZero();
        assertThat(a.lock()).isSameAs(lock);
        assertThat(a.name()).isEqualTo("a");
        assertThat(a.toString()).contains("a", "0 objects", "0 pages");
        assertThat(n1.lru()).isNull();
        assertThat(n1.lruWeight()).isZero();
        assertLists();
    }

    @Test
    void moveTailAppendsInOrderAndKeepsTotals() {
        a.moveTail(n1, 1);
        assertLists();
        a.moveTail(n2, 2);
        a.moveTail(n3, 4);
        assertLists();
        assertThat(walk(a)).containsExactly(n1, n2, n3);
        assertThat(a.head()).isSameAs(n1);
        assertThat(a.next(n1)).isSameAs(n2);
        assertThat(a.next(n2)).isSameAs(n3);
        assertThat(a.next(n3)).isNull();
        assertThat(a.pages()).isEqualTo(7);
        assertThat(a.size()).isEqualTo(3);
        assertThat(n2.lru()).isSameAs(a);
        assertThat(n2.lruWeight()).isEqualTo(2);
    }

    @Test
    void moveTailOfAMemberMakesItMostRecentAndReplacesItsWeight() {
        a.moveTail(n1, 1);
        a.moveTail(n2, 2);
        a.moveTail(n3, 4);

        a.moveTail(n1, 10); // head to tail, heavier
        assertLists();
        assertThat(walk(a)).containsExactly(n2, n3, n1);
        assertThat(a.pages()).isEqualTo(16);
        assertThat(a.size()).isEqualTo(3);

        a.moveTail(n3, 1); // middle to tail, lighter
        assertLists();
        assertThat(walk(a)).containsExactly(n2, n1, n3);
        assertThat(a.pages()).isEqualTo(13);

        a.moveTail(n3, 3); // the tail stays the tail
        assertLists();
        assertThat(walk(a)).containsExactly(n2, n1, n3);
        assertThat(a.pages()).isEqualTo(15);
        assertThat(a.size()).isEqualTo(3);
    }

    @Test
    void removeUnlinksHeadMiddleAndTail() {
        a.moveTail(n1, 1);
        a.moveTail(n2, 2);
        a.moveTail(n3, 4);
        a.moveTail(n4, 8);

        GemLru.remove(n2); // middle
        assertLists();
        assertThat(walk(a)).containsExactly(n1, n3, n4);
        assertThat(a.pages()).isEqualTo(13);
        assertThat(n2.lru()).isNull();
        assertThat(n2.lruWeight()).isZero();

        GemLru.remove(n1); // head
        assertLists();
        assertThat(walk(a)).containsExactly(n3, n4);

        GemLru.remove(n4); // tail
        assertLists();
        assertThat(walk(a)).containsExactly(n3);
        assertThat(a.next(n3)).isNull();

        GemLru.remove(n3); // last
        assertLists();
        assertThat(a.head()).isNull();
        assertThat(a.pages()).isZero();
        assertThat(a.size()).isZero();

        a.moveTail(n2, 5); // a removed node can be added again
        assertLists();
        assertThat(walk(a)).containsExactly(n2);
    }

    @Test
    void removeOfANodeOnNoListIsANoOp() {
        a.moveTail(n1, 1);
        GemLru.remove(n2);
        GemLru.remove(n1);
        GemLru.remove(n1);
        assertLists();
        assertThat(a.size()).isZero();
    }

    @Test
    void removeWithoutTheLockIsANoOpForANodeOnNoList() {
        lock.unlock();
        GemLru.remove(n1); // no list, so no lock needed
        assertThat(n1.lru()).isNull();
    }

    @Test
    void spliceTailMovesEverythingInOrderAndEmptiesTheSource() {
        a.moveTail(n1, 1);
        a.moveTail(n2, 2);
        b.moveTail(n3, 4);
        b.moveTail(n4, 8);

        a.spliceTail(b);
        assertLists();
        assertThat(walk(a)).containsExactly(n1, n2, n3, n4);
        assertThat(walk(b)).isEmpty();
        assertThat(a.pages()).isEqualTo(15);
        assertThat(a.size()).isEqualTo(4);
        assertThat(b.pages()).isZero();
        assertThat(b.size()).isZero();
        assertThat(n3.lru()).isSameAs(a);
        assertThat(n4.lruWeight()).isEqualTo(8);

        // The spliced nodes are ordinary members: they can be moved and removed from their new list.
        a.moveTail(n3, 4);
        GemLru.remove(n4);
        assertLists();
        assertThat(walk(a)).containsExactly(n1, n2, n3);
        assertThat(a.pages()).isEqualTo(7);
    }

    @Test
    void spliceTailOfAnEmptyListChangesNothing() {
        a.moveTail(n1, 1);
        a.spliceTail(b);
        assertLists();
        assertThat(walk(a)).containsExactly(n1);
        assertThat(a.pages()).isEqualTo(1);
    }

    @Test
    void spliceTailIntoAnEmptyListTakesOverHeadAndTail() {
        b.moveTail(n1, 1);
        b.moveTail(n2, 2);
        a.spliceTail(b);
        assertLists();
        assertThat(walk(a)).containsExactly(n1, n2);
        a.moveTail(n3, 3);
        assertLists();
        assertThat(walk(a)).containsExactly(n1, n2, n3);
        // the source is usable again after a splice
        b.moveTail(n4, 4);
        assertLists();
        assertThat(walk(b)).containsExactly(n4);
    }

    @Test
    void moveTailBetweenListsSharingALockUpdatesBothTotals() {
        a.moveTail(n1, 1);
        a.moveTail(n2, 2);
        a.moveTail(n3, 4);

        b.moveTail(n2, 20); // off a, onto b with a new weight
        assertLists();
        assertThat(walk(a)).containsExactly(n1, n3);
        assertThat(walk(b)).containsExactly(n2);
        assertThat(a.pages()).isEqualTo(5);
        assertThat(a.size()).isEqualTo(2);
        assertThat(b.pages()).isEqualTo(20);
        assertThat(b.size()).isEqualTo(1);
        assertThat(n2.lru()).isSameAs(b);

        b.moveTail(n1, 1);
        b.moveTail(n3, 4);
        assertLists();
        assertThat(walk(a)).isEmpty();
        assertThat(a.pages()).isZero();
        assertThat(walk(b)).containsExactly(n2, n1, n3);
        assertThat(b.pages()).isEqualTo(25);

        a.moveTail(n1, 7); // and back
        assertLists();
        assertThat(walk(a)).containsExactly(n1);
        assertThat(walk(b)).containsExactly(n2, n3);
        assertThat(b.pages()).isEqualTo(24);
        assertThat(b.size()).isEqualTo(2);
    }

    @Test
    void totalsAreReadableWithoutTheLock() {
        a.moveTail(n1, 3);
        a.moveTail(n2, 5);
        lock.unlock();
        assertThat(a.pages()).isEqualTo(8);
        assertThat(a.size()).isEqualTo(2);
        assertThat(a.toString()).contains("2 objects", "8 pages");
    }

    @Test
    void methodsThatWalkOrChangeTheListRequireTheLock() {
        boolean assertions = false;
        assert assertions = true; // detects -ea
        assumeTrue(assertions, "needs -ea");
        a.moveTail(n1, 1);
        lock.unlock();
        assertThatThrownBy(a::head).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> a.next(n1)).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> a.moveTail(n2, 1)).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> GemLru.remove(n1)).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> a.spliceTail(b)).isInstanceOf(AssertionError.class);
        lock.lock();
        assertLists();
        assertThat(walk(a)).containsExactly(n1);
    }
}
