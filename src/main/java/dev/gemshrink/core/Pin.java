package dev.gemshrink.core;

/**
 * One pin ({@code pages_pin_count}) of a {@link ShmemObject}: while it is live the pages are resident and are
 * neither evicted nor purged. Obtained from {@link ShmemObject#pin()}; closing it is unpin.
 */
public final class Pin extends Owner {
    Pin(ShmemObject obj, OwnerKind kind) {
        super(obj, kind);
    }
}
