package dev.gemshrink.reclaim;

import java.util.concurrent.locks.ReentrantLock;

/**
 * An LRU list of reclaimable elements: an intrusive doubly linked list with O(1) move-to-tail and removal, keeping
 * its total weight (pages) so that counting is O(1). The head is the least recently used element. All LRUs of one
 * device share one lock ({@link #lock()}); every method except {@link #pages()} and {@link #size()} requires it.
 * Because an element's {@code lru} field says which list holds it and every list shares the lock, an element can
 * be moved or removed from whichever list holds it, a reclaimer's private list included.
 *
 * @param <T> the element type
 */
public final class GemLru<T extends LruNode> {
    private final String name;
    private final ReentrantLock lock;
    private LruNode head; // guarded by lock
    private LruNode tail; // guarded by lock
    // Written under lock; volatile so that counts read it without the lock (a shrinker's count is lock-free).
    private volatile long pages;
    private volatile int size;

    /**
     * Creates an empty list.
     *
     * @param name a name for diagnostics
     * @param lock the lock shared by all LRUs of the device
     */
    public GemLru(String name, ReentrantLock lock) {
        this.name = name;
        this.lock = lock;
    }

    /**
     * Returns the lock this list shares with the device's other LRUs.
     *
     * @return the LRU lock
     */
    public ReentrantLock lock() {
        return lock;
    }

    /**
     * Returns the name.
     *
     * @return the list's name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the total weight of the elements, lock-free (may be a moment stale).
     *
     * @return pages on this list
     */
    public long pages() {
        return pages;
    }

    /**
     * Returns the number of elements, lock-free (may be a moment stale).
     *
     * @return elements on this list
     */
    public int size() {
        return size;
    }

    /**
     * Moves an element to the tail (most recently used end) of this list with a new weight, taking it off any list
     * of the same lock it was on.
     *
     * @param node   the element
     * @param weight its pages
     */
    public void moveTail(T node, long weight) {
        assert lock.isHeldByCurrentThread();
        if (node.lru != null) {
            node.lru.unlink(node);
        }
        node.prev = tail;
        node.next = null;
        if (tail == null) {
            head = node;
        } else {
            tail.next = node;
        }
        tail = node;
        node.lru = this;
        node.weight = Math.toIntExact(weight);
        pages += weight;
        size++;
    }

    /**
     * Takes an element off whichever list holds it (no-op when on none).
     *
     * @param node the element
     */
    public static void remove(LruNode node) {
        if (node.lru != null) {
            assert node.lru.lock.isHeldByCurrentThread();
            node.lru.unlink(node);
        }
    }

    private void unlink(LruNode node) {
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
        node.lru = null;
        pages -= node.weight;
        size--;
        node.weight = 0;
    }

    /**
     * Returns the least recently used element.
     *
     * @return the head, or null when empty
     */
    @SuppressWarnings("unchecked")
    public T head() {
        assert lock.isHeldByCurrentThread();
        return (T) head;
    }

    /**
     * Returns the element after {@code node} on its list.
     *
     * @param node an element of this list
     * @return the next element, or null at the tail
     */
    @SuppressWarnings("unchecked")
    public T next(T node) {
        assert lock.isHeldByCurrentThread();
        return (T) node.next;
    }

    /**
     * Moves every element of {@code other} to the tail of this list, in order (the kernel's list_splice_tail).
     *
     * @param other a list with the same lock
     */
    public void spliceTail(GemLru<T> other) {
        assert lock.isHeldByCurrentThread() && other.lock == lock;
        LruNode n = other.head;
        if (n == null) {
            return;
        }
        for (LruNode x = n; x != null; x = x.next) {
            x.lru = this;
        }
        n.prev = tail;
        if (tail == null) {
            head = n;
        } else {
            tail.next = n;
        }
        tail = other.tail;
        pages += other.pages;
        size += other.size;
        other.head = null;
        other.tail = null;
        other.pages = 0;
        other.size = 0;
    }

    @Override
    public String toString() {
        return "GemLru[" + name + ", " + size + " objects, " + pages + " pages]";
    }
}
