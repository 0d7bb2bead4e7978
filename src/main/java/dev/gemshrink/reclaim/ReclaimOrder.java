package dev.gemshrink.reclaim;

/**
 * One device's victim order under a {@link ReclaimPolicy} other than {@link ReclaimPolicy#lru()}: the policy's
 * queues over the device's resident objects and its per-object state. The lists of the resident placements are
 * created with the order ({@link GemLru#GemLru(String, java.util.concurrent.locks.ReentrantLock, ReclaimOrder,
 * GemLru.Use, GemLru.Total)}); they keep membership and page totals, the order keeps positions, which survive a move
 * between those
 * lists (a DONTNEED object marked WILLNEED and back keeps its place; the move to WILLNEED is a use). An element
 * enters the order when it gains resident pages and leaves it when it loses them or is freed.
 *
 * <p>A pass of the shrinker asks {@link #nextVictim} for candidates of one list: the order walks its own queues and
 * offers only elements on that list (the core decided what each list holds; the order never sees a reason to
 * reclaim, only a position), updating its state as its algorithm says (clearing a visited bit, promoting a frequent
 * element). An offered element that is not reclaimed (its lock was busy, its evictor refused) stays in the order
 * where the offer left it. Walking past elements of other lists costs one step each: a pass costs O(elements of
 * the order ahead of its victims), O(1) per victim when the pass's list dominates the order's front.
 *
 * <p>Only this library's policies create orders (the constructor is package-private): an order's callbacks run
 * under the device's LRU lock, in the middle of a placement move, where a mistake would corrupt the lists.
 *
 * <p>Locking: every method requires the device's LRU lock.
 */
public abstract class ReclaimOrder {
    /** The policy bit of an element a pass in progress was offered: no pass offers it again until it is cleared. */
    static final int OFFERED = 0x80;
    /** The policy bit of an element that became idle (see {@link GemLru.Use}): its next move to being wanted is a use. */
    static final int IDLE = 0x40;

    ReclaimOrder() {
    }

    /**
     * Returns the order a device with this policy uses.
     *
     * @param policy        the device's policy
     * @param capacityPages the device's RAM in pages (sizes a frequency sketch)
     * @return the order, or null for {@link ReclaimPolicy#lru()} (its lists keep their own LRU order)
     */
    public static ReclaimOrder of(ReclaimPolicy policy, int capacityPages) {
        return ((BuiltInPolicy) policy).newOrder(capacityPages);
    }

    /** A node gained resident pages: link it into the order. */
    abstract void inserted(LruNode node);

    /** A node of the order was used (moved from idle to wanted, see {@link GemLru.Use}). */
    abstract void used(LruNode node);

    /** A node of the order lost its resident pages or was freed: unlink it. */
    abstract void removed(LruNode node);

    /**
     * Returns the next candidate of a pass over one list, in the policy's order, and marks it offered: until the
     * pass calls {@link #offerDone}, no pass is offered it again, so a pass looks at each element at most once and
     * an element it could not reclaim (busy, locked) does not hide the ones behind it.
     *
     * @param list the pass's list (created with this order)
     * @param <T>  the element type
     * @return an element on {@code list} not offered yet, or null when the order holds none
     */
    public abstract <T extends LruNode> T nextVictim(GemLru<T> list);

    /**
     * Ends an offer: the element may be offered again (call it for every element a pass was offered, before the
     * pass ends, whether or not it was reclaimed).
     *
     * @param node an element {@link #nextVictim} returned
     */
    public final void offerDone(LruNode node) {
        node.policyBits = (byte) (node.policyBits & ~OFFERED);
    }

    /**
     * Tells the order that a candidate it offered was reclaimed (and so has already left it): a policy with a
     * history of reclaimed elements records its key.
     *
     * @param node the reclaimed element
     */
    public void reclaimed(LruNode node) {
        // Most policies keep no history of reclaimed elements.
    }

    /**
     * Returns how many elements the order holds.
     *
     * @return the elements of the order's queues
     */
    public abstract int size();

    /** Whether a node is on the pass's list and not offered to a pass yet. */
    static boolean on(LruNode node, GemLru<?> list) {
        return node.lru == list && (node.policyBits & OFFERED) == 0;
    }

    /** Sets a node's policy state, keeping its offered and idle marks. */
    static void setState(LruNode node, int bits) {
        node.policyBits = (byte) ((node.policyBits & (OFFERED | IDLE)) | bits);
    }

    /** Marks a node idle: its next move to being wanted is a use. */
    static void idle(LruNode node) {
        node.policyBits = (byte) (node.policyBits | IDLE);
    }

    /** Whether a node was idle, clearing the mark (the move that asks is the use). */
    static boolean wasIdle(LruNode node) {
        boolean idle = (node.policyBits & IDLE) != 0;
        node.policyBits = (byte) (node.policyBits & ~IDLE);
        return idle;
    }

    /** The first node from {@code n} on (through its queue's links) that is on the pass's list, or null. */
    static LruNode firstOn(LruNode n, GemLru<?> list) {
        while (n != null && !on(n, list)) {
            n = n.next;
        }
        return n;
    }

    /** Marks a candidate (or null) offered, cast to the pass's element type (it is on the pass's list). */
    @SuppressWarnings("unchecked")
    static <T extends LruNode> T offer(LruNode node) {
        if (node != null) {
            node.policyBits = (byte) (node.policyBits | OFFERED);
        }
        return (T) node;
    }
}
