package dev.gemshrink.reclaim;

import java.util.List;
import java.util.Optional;

/**
 * The order in which a device's shrinker tries the reclaimable objects of each pass. The core decides what is
 * reclaimable (pins, fences, madvise state, exports) and runs the purge pass before the evict pass; the policy only
 * orders the candidates within a pass. A device has one policy, chosen by its builder; {@link #lru()}, the kernel's
 * order, is the default; the others are SIEVE, S3-FIFO and W-TinyLFU (see docs/policies.md).
 *
 * <p>The interface is sealed: a policy's bookkeeping runs under the device's LRU lock inside every placement move
 * and inside the shrinker's passes, where a mistake corrupts the lists, so only the built-in policies exist.
 */
public sealed interface ReclaimPolicy permits BuiltInPolicy {
    /**
     * Returns the policy's name as the command line spells it.
     *
     * @return for example {@code lru}
     */
    String name();

    /**
     * Returns the kernel's order: the least recently changed object of a pass's list first, exact at scan time.
     *
     * @return the LRU policy
     */
    static ReclaimPolicy lru() {
        return BuiltInPolicy.LRU;
    }

    /**
     * Returns the policies this library ships, the default first.
     *
     * @return the built-in policies
     */
    static List<ReclaimPolicy> builtIns() {
        return BuiltInPolicy.ALL;
    }

    /**
     * Finds a built-in policy by its {@link #name()}.
     *
     * @param name the name
     * @return the policy, or empty when no built-in policy has that name
     */
    static Optional<ReclaimPolicy> named(String name) {
        return BuiltInPolicy.ALL.stream().filter(p -> p.name().equals(name)).findFirst();
    }
}
