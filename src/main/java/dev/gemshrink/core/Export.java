package dev.gemshrink.core;

/**
 * An export of a {@link ShmemObject} to another device (a dma-buf). While one is live the object is shared: it is
 * never purged or evicted. Obtained from {@link ShmemObject#export()}; closing it ends the export.
 */
public final class Export extends Owner {
    Export(ShmemObject obj, OwnerKind kind) {
        super(obj, kind);
    }
}
