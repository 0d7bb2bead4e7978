package dev.gemshrink.core;

/**
 * The default {@link Evictor}: purge or evict if the object's own state allows it. A failed swap write surfaces
 * as the permit's {@code ENOMEM}.
 */
final class ShmemEvictor implements Evictor {
    static final ShmemEvictor INSTANCE = new ShmemEvictor();

    private ShmemEvictor() {
    }

    @Override
    public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
        if (!obj.isPurgeable()) {
            return Outcome.BUSY;
        }
        permit.purge();
        return Outcome.DONE;
    }

    @Override
    public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
        if (!obj.isEvictable()) {
            return Outcome.BUSY;
        }
        permit.evict();
        return Outcome.DONE;
    }
}
