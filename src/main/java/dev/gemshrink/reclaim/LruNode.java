package dev.gemshrink.reclaim;

/**
 * The links an element carries to sit on one {@link GemLru} at a time (an intrusive list node, like the kernel's
 * {@code lru_node}). Subclasses are the objects being reclaimed; every field here is guarded by the lock the lists
 * share.
 */
public abstract class LruNode {
    LruNode prev; // guarded by the LRU lock
    LruNode next; // guarded by the LRU lock
    GemLru<?> lru; // guarded by the LRU lock: the list holding this node, or null
    int weight; // guarded by the LRU lock: pages counted for this node on its list
    // Guarded by the LRU lock: the reclaim policy's per-object state (a visited bit, a frequency, a queue); a byte,
    // so that it fits in the subclass's alignment padding and costs no memory per object.
    byte policyBits;

    /** Creates a node on no list. */
    protected LruNode() {
    }

    /**
     * Returns the key by which a reclaim policy's history (S3-FIFO's ghost queue, W-TinyLFU's frequency sketch)
     * recognizes this element after it has left memory, or has been freed and created again. Equal keys are the
     * same element to the policy; a collision only blurs the policy's judgement, never what is reclaimable.
     *
     * @return a key, stable for the element's life
     */
    protected abstract long reclaimKey();

    /**
     * Returns the list holding this node. Call it with the LRU lock held for an exact answer.
     *
     * @return the list, or null when on none
     */
    public final GemLru<?> lru() {
        return lru;
    }

    /**
     * Returns the pages this node counts for on its list. Call it with the LRU lock held for an exact answer.
     *
     * @return the node's weight, 0 when on no list
     */
    public final long lruWeight() {
        return weight;
    }
}
