package dev.gemshrink.reclaim;

import java.util.Iterator;
import java.util.LinkedHashSet;

/**
 * S3-FIFO (Yang et al., SOSP 2023): a small FIFO S that new objects enter, a main FIFO M, and a ghost FIFO G of the
 * keys of objects reclaimed from S. A use raises the object's frequency (0..3) and moves nothing. A victim is taken
 * from S while S holds at least a tenth of the objects (else from M, and from S when M has none for the pass): S's
 * oldest object moves to M (frequency reset) if it was used, else it is the victim and its key enters G when it is
 * reclaimed; M's oldest object goes back to M's tail with its frequency lowered if it was used, else it is the
 * victim. An object whose key is in G enters M directly. G keeps as many keys as nine tenths of the objects.
 *
 * <p>Cost: a use O(1); a victim O(objects passed), each promotion or reinsertion lowering a frequency, so at most
 * four rounds of the queues; G costs a boxed key and a hash entry per remembered object (about 50 bytes).
 */
final class S3FifoOrder extends ReclaimOrder {
    private static final int FREQ = 0x3;
    private static final int MAIN = 0x4;

    private final NodeQueue small = new NodeQueue(); // guarded by the LRU lock
    private final NodeQueue main = new NodeQueue(); // guarded by the LRU lock
    private final LinkedHashSet<Long> ghost = new LinkedHashSet<>(); // guarded by the LRU lock: oldest first

    @Override
    void inserted(LruNode node) {
        if (ghost.remove(node.reclaimKey())) {
            node.policyBits = MAIN;
            main.linkTail(node);
        } else {
            node.policyBits = 0;
            small.linkTail(node);
        }
    }

    @Override
    void used(LruNode node) {
        if ((node.policyBits & FREQ) < FREQ) {
            node.policyBits++;
        }
    }

    /** Unlinks the node; its bits stay until it is inserted again, so {@link #reclaimed} sees where it was. */
    @Override
    void removed(LruNode node) {
        queueOf(node).unlink(node);
    }

    @Override
    public void reclaimed(LruNode node) {
        if ((node.policyBits & MAIN) != 0 || (node.lru != null && node.lru.order() == this)) {
            return; // only objects reclaimed from S are remembered (and not one already back in memory)
        }
        ghost.add(node.reclaimKey());
        int limit = Math.max(1, size() * 9 / 10);
        for (Iterator<Long> it = ghost.iterator(); ghost.size() > limit; ) {
            it.next();
            it.remove();
        }
    }

    @Override
    public <T extends LruNode> T nextVictim(GemLru<T> list) {
        LruNode v = null;
        if (small.size() * 10 >= size()) {
            v = fromSmall(list);
        }
        if (v == null) {
            v = fromMain(list);
        }
        if (v == null) {
            v = fromSmall(list);
        }
        return offer(v);
    }

    /** S's oldest unused object of the list, promoting the used ones it meets to M; rotated to S's tail. */
    private LruNode fromSmall(GemLru<?> list) {
        LruNode n = firstOn(small.head(), list);
        while (n != null) {
            LruNode after = n.next;
            if ((n.policyBits & FREQ) == 0) {
                small.moveTail(n);
                return n;
            }
            small.unlink(n);
            setState(n, MAIN);
            main.linkTail(n);
            n = firstOn(after, list);
        }
        return null;
    }

    /** M's oldest unused object of the list, reinserting the used ones it meets one frequency lower; rotated. */
    private LruNode fromMain(GemLru<?> list) {
        for (int rounds = 4 * main.size(); rounds > 0; rounds--) {
            LruNode n = firstOn(main.head(), list);
            if (n == null) {
                return null;
            }
            main.moveTail(n);
            if ((n.policyBits & FREQ) == 0) {
                return n;
            }
            n.policyBits--;
        }
        return null;
    }



    private NodeQueue queueOf(LruNode node) {
        return (node.policyBits & MAIN) != 0 ? main : small;
    }

    @Override
    public int size() {
        return small.size() + main.size();
    }
}
