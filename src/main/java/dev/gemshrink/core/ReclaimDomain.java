package dev.gemshrink.core;

import dev.gemshrink.reclaim.GemLru;

/**
 * A reclaim domain of a device: where the lists of its {@link ReclaimStage#perDomain() per-domain} stages live for
 * the objects whose home it is, typically one GPU address space (a VM) and the objects private to it. The device
 * itself is a domain too ({@link GemDevice#domain()}), the home of every other object and the only holder of the
 * lists of the other stages.
 *
 * <p>The device keeps the domains that have objects on their per-domain lists in LRU order: a domain joins at the
 * tail when its first such object arrives, moves to the tail when {@link #touch() touched} (its address space was
 * used: a job was submitted on it), and leaves when its lists run empty. A scan of a per-domain stage visits the
 * device's own list first, then the domains from the least recently used. Idleness is tracked per domain, so an
 * object private to a domain is not moved on every use of the domain.
 *
 * <p>Thread safety: all methods may be called from any thread; the lists and the LRU links are guarded by the
 * device's LRU lock.
 */
public final class ReclaimDomain {
    private final GemDevice device;
    private final String name;
    final GemLru<ShmemObject>[] lists; // by stage index; null for a stage this domain keeps no list of
    ReclaimDomain prev; // guarded by the LRU lock: the device's domain LRU
    ReclaimDomain next; // guarded by the LRU lock
    boolean linked; // guarded by the LRU lock: on the device's domain LRU

    @SuppressWarnings({"unchecked", "rawtypes"}) // an array of a generic type
    ReclaimDomain(GemDevice device, String name, boolean all) {
        this.device = device;
        this.name = name;
        ReclaimStages stages = device.reclaimStages();
        this.lists = new GemLru[stages.stages().size()];
        for (ReclaimStage s : stages.stages()) {
            if (all || s.perDomain()) {
                lists[s.index()] = device.newList(this, s);
            }
        }
    }

    /**
     * Returns the domain's name.
     *
     * @return the name given at creation
     */
    public String name() {
        return name;
    }

    /**
     * Returns the device the domain belongs to.
     *
     * @return the device
     */
    public GemDevice device() {
        return device;
    }

    /**
     * Marks the domain used: when it has objects on its per-domain lists it moves to the tail of the device's
     * domain LRU, so its objects are reclaimed after those of domains used less recently. Takes the device's LRU
     * lock (a leaf).
     */
    public void touch() {
        device.touch(this);
    }

    /**
     * Returns the pages on this domain's list of a stage, lock-free (may be a moment stale).
     *
     * @param stage a per-domain stage of the device, or any stage for the device's own domain
     * @return the pages on that list
     * @throws IllegalArgumentException when this domain keeps no list of that stage
     */
    public long pages(ReclaimStage stage) {
        return list(stage).pages();
    }

    /**
     * Returns this domain's list of a stage (the device applies buffered moves first when the LRU lock is free).
     *
     * @param stage a stage of the device
     * @return the list
     * @throws IllegalArgumentException when this domain keeps no list of that stage
     */
    public GemLru<ShmemObject> list(ReclaimStage stage) {
        if (!hasList(stage)) {
            throw new IllegalArgumentException(name + " keeps no list of stage " + stage);
        }
        device.moves().tryDrain();
        return lists[stage.index()];
    }

    /**
     * Returns whether this domain keeps a list of a stage: the device's own domain keeps one of every stage, another
     * domain one of every per-domain stage.
     *
     * @param stage a stage of the device
     * @return true when {@link #list} returns one
     */
    public boolean hasList(ReclaimStage stage) {
        return device.reclaimStages().contains(stage) && lists[stage.index()] != null;
    }

    /** Objects on this domain's per-domain lists. LRU lock held. */
    int perDomainSize() {
        int n = 0;
        for (ReclaimStage s : device.reclaimStages().stages()) {
            if (s.perDomain()) {
                n += lists[s.index()].size();
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "ReclaimDomain[" + name + "]";
    }
}
