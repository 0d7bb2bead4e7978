package dev.gemshrink.reclaim;

/**
 * An intrusive doubly linked FIFO of {@link LruNode}s through their {@code prev}/{@code next} links: O(1) append,
 * unlink and move-to-tail. A node is on at most one queue at a time (a {@link GemLru}'s own, or one of a
 * {@link ReclaimOrder}'s). Guarded by the LRU lock of the device whose nodes it links.
 */
final class NodeQueue {
    private LruNode head; // guarded by the LRU lock
    private LruNode tail; // guarded by the LRU lock
    private int size; // guarded by the LRU lock

    /** The oldest node, or null. */
    LruNode head() {
        return head;
    }

    /** The newest node, or null. */
    LruNode tail() {
        return tail;
    }

    /** The nodes on this queue. */
    int size() {
        return size;
    }

    /** Appends a node that is on no queue. */
    void linkTail(LruNode node) {
        node.prev = tail;
        node.next = null;
        if (tail == null) {
            head = node;
        } else {
            tail.next = node;
        }
        tail = node;
        size++;
    }

    /** Takes a node of this queue off it. */
    void unlink(LruNode node) {
        if (node.prev == null) {
            head = node.next;
        } else {
            node.prev.next = node.next;
        }
        if (node.next == null) {
            tail = node.prev;
        } else {
            node.next.prev = node.prev;
        }
        node.prev = null;
        node.next = null;
        size--;
    }

    /** Moves a node of this queue to its tail. */
    void moveTail(LruNode node) {
        if (node != tail) {
            unlink(node);
            linkTail(node);
        }
    }

    /** Moves every node of {@code other} to the tail of this queue, in order, leaving {@code other} empty. */
    void spliceTail(NodeQueue other) {
        LruNode n = other.head;
        if (n == null) {
            return;
        }
        n.prev = tail;
        if (tail == null) {
            head = n;
        } else {
            tail.next = n;
        }
        tail = other.tail;
        size += other.size;
        other.head = null;
        other.tail = null;
        other.size = 0;
    }
}
