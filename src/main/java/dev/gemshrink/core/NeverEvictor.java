package dev.gemshrink.core;

/** The {@link Evictor} of objects that are never reclaimed: BUSY to every call. */
final class NeverEvictor implements Evictor {
    static final NeverEvictor INSTANCE = new NeverEvictor();

    private NeverEvictor() {
    }

    @Override
    public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
        return Outcome.BUSY;
    }

    @Override
    public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
        return Outcome.BUSY;
    }
}
