package dev.gemshrink.reclaim;

/**
 * SIEVE (Zhang et al., NSDI 2024): one FIFO of the resident objects, oldest first, a visited bit per object and a
 * hand. A use sets the bit and moves nothing. The hand walks from the oldest object towards the newest: a visited
 * object loses its bit and stays, an unvisited one is the victim and the hand stops just past it; past the newest
 * it starts again at the oldest. Objects of other lists than the pass's are stepped over untouched.
 *
 * <p>Cost: a use O(1) (a bit); a victim O(objects the hand passes), at most two rounds of the queue.
 */
final class SieveOrder extends ReclaimOrder {
    private static final byte VISITED = 1;

    private final NodeQueue queue = new NodeQueue(); // guarded by the LRU lock
    private LruNode hand; // guarded by the LRU lock: the next node the hand looks at; null: the oldest

    @Override
    void inserted(LruNode node) {
        node.policyBits = 0;
        queue.linkTail(node);
    }

    @Override
    void used(LruNode node) {
        node.policyBits |= VISITED;
    }

    @Override
    void removed(LruNode node) {
        if (hand == node) {
            hand = node.next;
        }
        queue.unlink(node);
    }

    @Override
    public <T extends LruNode> T nextVictim(GemLru<T> list) {
        LruNode n = hand;
        // Two rounds: the first may clear every bit of the pass's objects, the second then finds one.
        for (int steps = 2 * queue.size(); steps > 0; steps--) {
            if (n == null) {
                n = queue.head();
            }
            if (on(n, list)) {
                if ((n.policyBits & VISITED) == 0) {
                    hand = n.next;
                    return offer(n);
                }
                n.policyBits &= ~VISITED;
            }
            n = n.next;
        }
        hand = n;
        return null;
    }

    @Override
    public int size() {
        return queue.size();
    }
}
