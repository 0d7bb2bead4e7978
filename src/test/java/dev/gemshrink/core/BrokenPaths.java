package dev.gemshrink.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * A test seam into the core's bookkeeping: the steps a careless change to {@link ShmemObject} would get wrong,
 * done from the test tree so that no main code is edited. Reference tracking must name each one.
 */
public final class BrokenPaths {
    /**
     * Takes one count of an object with no owner, as a path that forgets to record its owner would (the seed's bug
     * class). Call it with the object's reservation lock held. A method reference to the core's own count
     * primitive, so this seam adds no stack frame: the site tracking records is the caller's line.
     */
    public static final CountTaker TAKE_WITHOUT_OWNER = ShmemObject::takeLocked;

    private static final VarHandle SGT_USE;
    private static final VarHandle PIN_USE;
    private static final VarHandle VMAP_PIN;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.privateLookupIn(ShmemObject.class, MethodHandles.lookup());
            SGT_USE = l.findVarHandle(ShmemObject.class, "sgtUse", PagesRef.class);
            PIN_USE = l.findVarHandle(ShmemObject.class, "pinUse", PagesRef.class);
            VMAP_PIN = l.findVarHandle(ShmemObject.class, "vmapPin", Pin.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Takes one count of an object without an owner. */
    @FunctionalInterface
    public interface CountTaker {
        /**
         * Moves the count up by one.
         *
         * @param obj the object (its reservation lock held)
         * @param ref the count
         */
        void take(ShmemObject obj, RefKind ref);
    }

    private BrokenPaths() {
    }

    /**
     * Frees an object as a {@code free()} that forgets the stored sg table's page use would: the table's owner is
     * dropped without being released.
     *
     * @param obj an object with a stored sg table
     * @return what free reported
     */
    public static LeakReport freeForgettingSgtUse(ShmemObject obj) {
        return obj.locked(() -> {
            SGT_USE.set(obj, null);
            return obj.free();
        });
    }

    /**
     * Closes the last CPU mapping as a vunmap that forgets its pin would: the mappings' pin is dropped without
     * being released (a caller's pin stands in for it so the real path has something to release).
     *
     * @param map the object's last mapping
     */
    public static void vunmapForgettingPin(VMap map) {
        ShmemObject obj = map.object();
        obj.locked(() -> {
            VMAP_PIN.set(obj, obj.pin());
            map.close();
            return null;
        });
    }

    /**
     * Returns the object's own owners that exist now (its stored sg table's use, its pins' use, its mappings' pin).
     *
     * @param obj the object
     * @return the internal owners
     */
    public static List<Owner> ownOwners(ShmemObject obj) {
        return obj.locked(() -> {
            List<Owner> out = new ArrayList<>();
            for (VarHandle h : new VarHandle[] {SGT_USE, PIN_USE, VMAP_PIN}) {
                Owner o = (Owner) h.get(obj);
                if (o != null) {
                    out.add(o);
                }
            }
            return out;
        });
    }
}
