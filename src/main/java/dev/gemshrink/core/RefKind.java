package dev.gemshrink.core;

/** The reference counts of a {@link ShmemObject}; each {@link OwnerKind} holds one reference of one of them. */
public enum RefKind {
    /** {@code pages_use_count}: holders that need the pages to exist. */
    PAGES,
    /** {@code pages_pin_count}: holders that need the pages to stay put. */
    PIN,
    /** {@code vmap_use_count}: CPU mappings of the whole object. */
    VMAP,
    /** Exports of the object to another device (dma-buf); an exported object is never purged or evicted. */
    EXPORT
}
