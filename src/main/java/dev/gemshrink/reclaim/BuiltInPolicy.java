package dev.gemshrink.reclaim;

import java.util.List;

/** The reclaim policies this library ships; {@link ReclaimPolicy#builtIns()} lists them. */
final class BuiltInPolicy implements ReclaimPolicy {
    /** The kernel's LRU order. */
    static final BuiltInPolicy LRU = new BuiltInPolicy("lru");
    /** Every built-in policy, the default first. */
    static final List<ReclaimPolicy> ALL = List.of(LRU);

    private final String name;

    private BuiltInPolicy(String name) {
        this.name = name;
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
