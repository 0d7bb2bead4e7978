package dev.gemshrink.locking;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A class of locks for the {@link LockValidator}: every lock of one kind (all reservation locks, all BOs' mapping
 * locks, ...) belongs to one class, and lock order is learned between classes, not between single locks (the
 * kernel's {@code lock_class_key}). Create classes once, as constants: there are at most {@value #MAX_CLASSES}.
 */
public final class LockClass {
    /** How many classes a process may create. */
    public static final int MAX_CLASSES = 256;

    private static final AtomicInteger IDS = new AtomicInteger();

    /** All reservation locks ({@link ResvLock}); several are taken together through an {@link AcquireContext}. */
    public static final LockClass RESERVATION = new LockClass("ResvLock");

    /**
     * The reclaim pseudo-lock (the kernel's {@code fs_reclaim}): an allocation that may run direct reclaim takes it
     * for a moment, and a shrinker's scan runs holding it. See {@link LockValidator#mayEnterReclaim()}.
     */
    public static final LockClass RECLAIM = new LockClass("reclaim");

    private final String name;
    final int id; // index into the validator's order matrix

    private LockClass(String name) {
        this.name = name;
        this.id = IDS.getAndIncrement();
        if (id >= MAX_CLASSES) {
            throw new IllegalStateException("more than " + MAX_CLASSES + " lock classes: create them as constants");
        }
    }

    /**
     * Creates a lock class.
     *
     * @param name what reports call it, for example {@code "PanfrostBo.mappingsLock"}
     * @return a new class, distinct from every other
     * @throws IllegalStateException when {@value #MAX_CLASSES} classes exist already
     */
    public static LockClass named(String name) {
        return new LockClass(name);
    }

    /**
     * Returns the class's name.
     *
     * @return the name given at creation
     */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
