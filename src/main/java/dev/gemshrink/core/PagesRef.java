package dev.gemshrink.core;

/**
 * One page use ({@code pages_use_count}) of a {@link ShmemObject}: while it is live the object's pages exist,
 * resident or (after eviction) in swap. Obtained from {@link ShmemObject#getPages()}; closing it is put_pages.
 */
public final class PagesRef extends Owner {
    PagesRef(ShmemObject obj, OwnerKind kind) {
        super(obj, kind);
    }
}
