package dev.gemshrink.reclaim;

import java.util.concurrent.locks.ReentrantLock;

/**
 * A list of reclaimable elements: an intrusive doubly linked list with O(1) move-to-tail and removal, keeping its
 * total weight (pages) so that counting is O(1). The head is the least recently used element. All LRUs of one
 * device share one lock ({@link #lock()}); every method except {@link #pages()} and {@link #size()} requires it.
 * Because an element's {@code lru} field says which list holds it and every list shares the lock, an element can
 * be moved or removed from whichever list holds it, a reclaimer's private list included.
 *
 * <p>A list created with a {@link ReclaimOrder} keeps membership and totals only: its elements are linked in the
 * order's queues instead, which persist while an element moves between the lists of that order (a move is then an
 * access, or nothing for a list whose moves are not uses), so {@link #head()}, {@link #next} and
 * {@link #spliceTail} are for lists without an order; a scan of an ordered list asks the order.
 *
 * @param <T> the element type
 */
public final class GemLru<T extends LruNode> {
    private final String name;
    private final ReentrantLock lock;
    private final ReclaimOrder order; // null: the elements are linked in this list's own queue, in LRU order
    private final Use use;
    private final Total total; // the stage's total this list counts into as well, or null
    private final NodeQueue queue = new NodeQueue(); // guarded by lock; empty when order != null
    // Written under lock; volatile so that counts read it without the lock (a shrinker's count is lock-free).
    private volatile long pages;
    private volatile int size;

    /**
     * Creates an empty list in LRU order.
     *
     * @param name a name for diagnostics
     * @param lock the lock shared by all LRUs of the device
     */
    public GemLru(String name, ReentrantLock lock) {
        this(name, lock, null, Use.IDLE, null);
    }

    /**
     * The totals of several lists that share one lock (a reclaim stage's lists in every domain), kept by the lists
     * under the lock as they change, so that counting all of them is O(1).
     */
    public static final class Total {
        // Written under the lists' lock; volatile so that counts read them without it.
        private volatile long pages;
        private volatile int size;

        /** Creates totals of zero, for lists yet to be created. */
        public Total() {
            // nothing to set: zero pages in zero elements
        }

        /**
         * Returns the total weight of the lists' elements, lock-free (may be a moment stale).
         *
         * @return pages on the lists
         */
        public long pages() {
            return pages;
        }

        /**
         * Returns the number of elements on the lists, lock-free (may be a moment stale).
         *
         * @return elements on the lists
         */
        public int size() {
            return size;
        }

        private void add(long p, int n) {
            pages += p;
            size += n;
        }
    }

    /**
     * What being on a list says about the use of its elements, which decides when a move between two lists of one
     * {@link ReclaimOrder} is a use: an element becomes <em>idle</em> when it moves onto a {@link #GIVEN_UP} list
     * or from an {@link #IN_USE} list onto an {@link #IDLE} one; its next move onto another {@link #IDLE} or
     * {@link #IN_USE} list is one use. A move that stays on its list changes nothing. So a burst of state changes
     * (madvise WILLNEED, a transient CPU mapping and its release) is one use, and creating and filling an object is
     * none beyond its insertion.
     */
    public enum Use {
        /** Its elements were given up by their users (DONTNEED). */
        GIVEN_UP,
        /** Its elements are wanted but nobody holds them (WILLNEED, unpinned). */
        IDLE,
        /** Its elements are held (pinned, mapped, exported). */
        IN_USE
    }

    /**
     * Creates an empty list whose elements a reclaim order links.
     *
     * @param name  a name for diagnostics
     * @param lock  the lock shared by all LRUs of the device
     * @param order the device's order, or null for a list in LRU order
     * @param use   what being on this list says about the use of its elements
     * @param total a total this list counts into as well (shared by lists of the same lock), or null
     */
    public GemLru(String name, ReentrantLock lock, ReclaimOrder order, Use use, Total total) {
        this.name = name;
        this.lock = lock;
        this.order = order;
        this.use = use;
        this.total = total;
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
     * Returns the order that links this list's elements.
     *
     * @return the order, or null when the list keeps its own LRU order
     */
    public ReclaimOrder order() {
        return order;
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
     * of the same lock it was on. For a list with an order: an element new to the order is inserted into it, one
     * moving between lists of the order keeps its place, and the move is a use when the element was idle (see
     * {@link Use}).
     *
     * @param node   the element
     * @param weight its pages
     */
    public void moveTail(T node, long weight) {
        assert lock.isHeldByCurrentThread();
        int w = Math.toIntExact(weight);
        GemLru<?> from = node.lru;
        if (from != null) {
            from.leave(node, order);
        }
        if (order == null) {
            queue.linkTail(node);
        } else if (from == null || from.order != order) {
            order.inserted(node);
            if (use == Use.GIVEN_UP) {
                ReclaimOrder.idle(node);
            }
        } else if (from != this) {
            if (use != Use.GIVEN_UP && ReclaimOrder.wasIdle(node)) {
                order.used(node);
            }
            if (use == Use.GIVEN_UP || (use == Use.IDLE && from.use == Use.IN_USE)) {
                ReclaimOrder.idle(node);
            }
        }
        node.lru = this;
        node.weight = w;
        pages += w;
        size++;
        if (total != null) {
            total.add(w, 1);
        }
    }

    /**
     * Takes an element off whichever list holds it (no-op when on none), and out of that list's order.
     *
     * @param node the element
     */
    public static void remove(LruNode node) {
        if (node.lru != null) {
            assert node.lru.lock.isHeldByCurrentThread();
            node.lru.leave(node, null);
        }
    }

    /** Takes a member off this list; it leaves this list's order too unless its next list has the same one. */
    private void leave(LruNode node, ReclaimOrder next) {
        if (order == null) {
            queue.unlink(node);
        } else if (order != next) {
            order.removed(node);
        }
        node.lru = null;
        pages -= node.weight;
        size--;
        if (total != null) {
            total.add(-node.weight, -1);
        }
        node.weight = 0;
    }

    /**
     * Returns the least recently used element of a list without an order.
     *
     * @return the head, or null when empty
     */
    @SuppressWarnings("unchecked")
    public T head() {
        assert lock.isHeldByCurrentThread() && order == null;
        return (T) queue.head();
    }

    /**
     * Returns the element after {@code node} on this list (a list without an order).
     *
     * @param node an element of this list
     * @return the next element, or null at the tail
     */
    @SuppressWarnings("unchecked")
    public T next(T node) {
        assert lock.isHeldByCurrentThread() && order == null;
        return (T) node.next;
    }

    /**
     * Moves every element of {@code other} to the tail of this list, in order (the kernel's list_splice_tail). Both
     * lists are without an order.
     *
     * @param other a list with the same lock
     */
    public void spliceTail(GemLru<T> other) {
        assert lock.isHeldByCurrentThread() && other.lock == lock && order == null && other.order == null;
        for (LruNode x = other.queue.head(); x != null; x = x.next) {
            x.lru = this;
        }
        queue.spliceTail(other.queue);
        pages += other.pages;
        size += other.size;
        if (total != null) {
            total.add(other.pages, other.size);
        }
        if (other.total != null) {
            other.total.add(-other.pages, -other.size);
        }
        other.pages = 0;
        other.size = 0;
    }

    @Override
    public String toString() {
        return "GemLru[" + name + ", " + size + " objects, " + pages + " pages]";
    }
}
