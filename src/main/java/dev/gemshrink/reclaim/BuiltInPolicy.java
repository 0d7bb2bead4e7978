package dev.gemshrink.reclaim;

import java.util.List;
import java.util.function.IntFunction;

/** The reclaim policies this library ships; {@link ReclaimPolicy#builtIns()} lists them. See docs/policies.md. */
final class BuiltInPolicy implements ReclaimPolicy {
    /** The kernel's LRU order: the lists keep their own order, no {@link ReclaimOrder}. */
    static final BuiltInPolicy LRU = new BuiltInPolicy("lru", capacityPages -> null);
    /** SIEVE: one FIFO, a visited bit per object and a moving hand. */
    static final BuiltInPolicy SIEVE = new BuiltInPolicy("sieve", capacityPages -> new SieveOrder());
    /** S3-FIFO: a small FIFO filtering one-hit objects, a main FIFO with reinsertion, a ghost FIFO of keys. */
    static final BuiltInPolicy S3FIFO = new BuiltInPolicy("s3fifo", capacityPages -> new S3FifoOrder());
    /** W-TinyLFU: an LRU window, a frequency sketch deciding admission into a segmented LRU main area. */
    static final BuiltInPolicy WTINYLFU = new BuiltInPolicy("wtinylfu", WTinyLfuOrder::new);
    /** Every built-in policy, the default first. */
    static final List<ReclaimPolicy> ALL = List.of(LRU, SIEVE, S3FIFO, WTINYLFU);

    private final String name;
    private final IntFunction<ReclaimOrder> orders;

    private BuiltInPolicy(String name, IntFunction<ReclaimOrder> orders) {
        this.name = name;
        this.orders = orders;
    }

    /** A new order for one device of {@code capacityPages} pages of RAM, or null for LRU. */
    ReclaimOrder newOrder(int capacityPages) {
        return orders.apply(capacityPages);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
