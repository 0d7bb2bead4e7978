package dev.gemshrink.core;

import dev.gemshrink.GemException;

/** The default {@link Evictor}: purge or evict if the object's own state allows it. */
final class ShmemEvictor implements Evictor {
    static final ShmemEvictor INSTANCE = new ShmemEvictor();

    private ShmemEvictor() {
    }

    @Override
    public Outcome purge(ShmemObject obj) {
        if (!obj.isPurgeable()) {
            return Outcome.BUSY;
        }
        obj.purge();
        return Outcome.DONE;
    }

    @Override
    public Outcome evict(ShmemObject obj) {
        if (!obj.isEvictable() || !obj.device().swap().hasRoom(obj.residentPages())) {
            return Outcome.BUSY;
        }
        try {
            obj.evict();
            return Outcome.DONE;
        } catch (GemException e) {
            return Outcome.BUSY; // swap write failed: the object stayed resident and intact
        }
    }
}
