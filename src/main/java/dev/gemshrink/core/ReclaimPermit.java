package dev.gemshrink.core;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;

/**
 * The one way to purge or evict a {@link ShmemObject}: the core hands a permit to the object's {@link Evictor} for
 * the duration of one callback, and only through it can the evictor do the work. So every reclaim, whether the
 * shrinker's or a caller's {@link ShmemObject#evict()}, passes the driver's policy (busy check, its own locks, GPU
 * mapping teardown) first; the core object offers no mutator that skips it.
 *
 * <p>A permit is used from the callback's thread, with the object's reservation lock held (the core holds it for
 * the whole callback). It expires when the callback returns and can do one reclaim at most; using it after that is
 * {@code EINVAL}. The number of pages it freed, not the callback's answer, is what the caller counts as freed; each
 * reclaim it does is counted in the object's {@link ShmemObject#timesReclaimed()}.
 */
public final class ReclaimPermit {
    private final ShmemObject obj;
    private boolean expired; // confined to the callback's thread, under the object's reservation lock
    private int freedPages = -1; // -1 until the permit did its reclaim

    ReclaimPermit(ShmemObject obj) {
        this.obj = obj;
    }

    /**
     * Returns the object this permit is for.
     *
     * @return the object
     */
    public ShmemObject object() {
        return obj;
    }

    /**
     * Purges the object: releases its stored sg table and its pages or swap copy and makes it PURGED for good.
     *
     * @return the number of resident pages freed
     * @throws GemException EBUSY when the object is not purgeable; EINVAL when the permit is expired or used
     */
    public int purge() {
        return purge(null);
    }

    /**
     * Runs the driver's teardown (for example clearing GPU page table entries), then purges. If the teardown
     * throws, nothing is purged and the throwable propagates.
     *
     * @param teardown what to undo before the pages go, or null
     * @return the number of resident pages freed
     * @throws GemException EBUSY when the object is not purgeable; EINVAL when the permit is expired or used
     */
    public int purge(Runnable teardown) {
        checkUsable();
        return done(obj.purgeLocked(teardown));
    }

    /**
     * Evicts the object to its device's swap store and releases its frames; the page use count is kept.
     *
     * @return the number of pages freed
     * @throws GemException EBUSY when the object is not evictable; ENOMEM when swap has no room or the write fails
     *                      (the object stays resident and intact); EINVAL when the permit is expired or used
     */
    public int evict() {
        return evict(null);
    }

    /**
     * Evicts in the order that keeps every failure harmless: first the swap write (the step that can fail; on
     * failure nothing else happens), then the driver's teardown (if it throws, the swap copy is dropped and the
     * object stays resident and intact), then the frames are released.
     *
     * @param teardown what to undo once the contents are safe in swap and before the frames go, or null
     * @return the number of pages freed
     * @throws GemException EBUSY when the object is not evictable; ENOMEM when swap has no room or the write fails;
     *                      EINVAL when the permit is expired or used
     */
    public int evict(Runnable teardown) {
        checkUsable();
        return done(obj.evictLocked(teardown));
    }

    /**
     * Discards the contents of an evictable object instead of writing them to swap (for contents that need not
     * survive a reclaim): the driver's teardown runs first (if it throws, nothing changes), then the frames are
     * released. The page uses stay; the next user gets zero-filled pages, and the object counts the discard in
     * {@link ShmemObject#timesDiscarded()}. Needs no swap room.
     *
     * @param teardown what to undo before the frames go, or null
     * @return the number of pages freed
     * @throws GemException EBUSY when the object is not evictable; EINVAL when the permit is expired or used
     */
    public int discard(Runnable teardown) {
        checkUsable();
        return done(obj.discardLocked(teardown));
    }

    /**
     * Returns the pages this permit freed.
     *
     * @return the pages freed, 0 when it did nothing
     */
    public int freedPages() {
        return Math.max(freedPages, 0);
    }

    /**
     * Returns whether the permit did its reclaim.
     *
     * @return true after a successful purge or evict
     */
    public boolean isUsed() {
        return freedPages >= 0;
    }

    void expire() {
        expired = true;
    }

    private int done(int pages) {
        freedPages = pages;
        obj.countReclaim();
        return pages;
    }

    private void checkUsable() {
        if (expired || freedPages >= 0 || !obj.resv().isHeldByCurrentThread()) {
            throw new GemException(Errno.EINVAL, "reclaim permit for " + obj.name() + " is "
                    + (expired ? "expired" : freedPages >= 0 ? "used" : "used outside its callback"));
        }
    }
}
