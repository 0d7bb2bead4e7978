package dev.gemshrink.core;

/**
 * Who holds a reference. Every page use, pin, CPU mapping and export of a {@link ShmemObject} is an {@link Owner}
 * of one of these kinds; the object's counts are the number of live owners. Kinds marked internal are held by the
 * object itself (its stored sg table, its pins' page use, its CPU mappings' pin) and released only by it.
 */
public enum OwnerKind {
    /** A page use held by a caller ({@link ShmemObject#getPages()}). */
    PAGES_HANDLE(RefKind.PAGES, false),
    /** The one page use the pins hold while the pin count is above zero. */
    PAGES_PIN(RefKind.PAGES, true),
    /** The page use owned by the stored sg table ({@link ShmemObject#getPagesSgt()}). */
    PAGES_SGT(RefKind.PAGES, true),
    /** The page use held by a heap object's chunk table (its sparse page array, see
     * {@link ShmemObject#getPagesSparse}). */
    PAGES_HEAP_CHUNKS(RefKind.PAGES, false),
    /** A pin held by a caller ({@link ShmemObject#pin()}). */
    PIN_HANDLE(RefKind.PIN, false),
    /** The one pin the CPU mappings hold while the vmap count is above zero. */
    PIN_VMAP(RefKind.PIN, true),
    /** A CPU mapping held by a caller ({@link ShmemObject#vmap()}). */
    VMAP_HANDLE(RefKind.VMAP, false),
    /** An export to another device ({@link ShmemObject#export()}). */
    EXPORT_HANDLE(RefKind.EXPORT, false);

    private final RefKind ref;
    private final boolean internal;

    OwnerKind(RefKind ref, boolean internal) {
        this.ref = ref;
        this.internal = internal;
    }

    /**
     * Returns the count this kind of owner holds one reference of.
     *
     * @return the reference count kind
     */
    public RefKind ref() {
        return ref;
    }

    /**
     * Returns whether owners of this kind are held and released by the object itself.
     *
     * @return true for the object's own owners
     */
    public boolean internal() {
        return internal;
    }
}
