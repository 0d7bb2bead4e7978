package dev.gemshrink.memory;

/**
 * A swap store's receipt for the pages of one object written to it: what {@link SwapStore#load} reads back and
 * {@link SwapStore#release} frees. Opaque to everyone but the store that issued it.
 */
public abstract class SwapSlots {
    private final int pages;

    /**
     * Creates a receipt.
     *
     * @param pages how many pages it covers
     */
    protected SwapSlots(int pages) {
        this.pages = pages;
    }

    /**
     * Returns the number of pages this receipt covers.
     *
     * @return pages held in swap
     */
    public final int pages() {
        return pages;
    }
}
