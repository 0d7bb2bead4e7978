package dev.gemshrink.panfrost;

/** Buffer object creation flags, with Panfrost's uapi values. */
public final class BoFlags {
    /** The GPU may not execute from this BO ({@code PANFROST_BO_NOEXEC}). */
    public static final int NOEXEC = 1;
    /** A heap BO: grows on GPU fault, 2 MiB at a time; requires NOEXEC ({@code PANFROST_BO_HEAP}). */
    public static final int HEAP = 2;
    /** All known flags. */
    public static final int ALL = NOEXEC | HEAP;

    private BoFlags() {
    }
}
