package dev.gemshrink.core;

/** An object's madvise state, with the kernel's numeric values. */
public enum Madv {
    /** Contents are needed (0): the object may be evicted to swap but never purged. */
    WILLNEED(0),
    /** Contents may be thrown away (1): the object may be purged. */
    DONTNEED(1),
    /** Contents are gone for good (-1). Sticky: madvise never leaves this state. */
    PURGED(-1);

    private final int value;

    Madv(int value) {
        this.value = value;
    }

    /**
     * Returns the kernel's numeric value.
     *
     * @return 0, 1 or -1
     */
    public int value() {
        return value;
    }
}
