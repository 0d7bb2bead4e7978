package dev.gemshrink.memory;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * A swap store's receipt for the pages of one object written to it: what {@link SwapStore#load} reads back and
 * {@link SwapStore#release} frees. Opaque to everyone but the store that issued it; the checks every store makes on
 * a receipt it is handed, or on the buffers of a store or load, live here.
 */
public abstract class SwapSlots {
    private final SwapStore issuer;
    private final int pages;
    private boolean released; // guarded by the owning object's reservation lock (one user at a time)

    /**
     * Creates a receipt.
     *
     * @param issuer the store issuing it
     * @param pages  how many pages it covers
     */
    protected SwapSlots(SwapStore issuer, int pages) {
        this.issuer = issuer;
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

    /**
     * Returns a receipt as its store's own type, after checking that it is live and that {@code store} issued it.
     *
     * @param store the store handed the receipt
     * @param slots the receipt
     * @param type  the store's receipt class
     * @param <S>   the store's receipt type
     * @return the receipt
     * @throws IllegalArgumentException when the receipt is released or was issued by another store
     */
    protected static <S extends SwapSlots> S own(SwapStore store, SwapSlots slots, Class<S> type) {
        if (!type.isInstance(slots) || slots.issuer != store || slots.released) {
            throw new IllegalArgumentException("not a live receipt of this store: " + slots);
        }
        return type.cast(slots);
    }

    /**
     * Checks that a load is given exactly one writable 4 KiB buffer per page of this receipt.
     *
     * @param into the buffers of the load
     * @throws IllegalArgumentException when the count differs, or a buffer is null, read-only or shorter than a page
     */
    protected final void checkLoadTarget(ByteBuffer[] into) {
        if (into.length != pages) {
            throw new IllegalArgumentException("receipt holds " + pages + " pages, " + into.length + " given");
        }
        for (int i = 0; i < into.length; i++) {
            checkPage(into[i], i);
            if (into[i].isReadOnly()) {
                throw new IllegalArgumentException("page " + i + " of the load is read-only");
            }
        }
    }

    /**
     * Checks the pages handed to a store, before the store holds anything for them.
     *
     * @param pages the pages of {@link SwapStore#store}
     * @throws IllegalArgumentException when a page is null or its limit is below {@link PagePool#PAGE_SIZE}
     */
    protected static void checkPages(ByteBuffer[] pages) {
        for (int i = 0; i < pages.length; i++) {
            checkPage(pages[i], i);
        }
    }

    private static void checkPage(ByteBuffer page, int i) {
        if (page == null) {
            throw new IllegalArgumentException("page " + i + " is null");
        }
        if (page.limit() < PagePool.PAGE_SIZE) {
            throw new IllegalArgumentException("page " + i + " holds " + page.limit() + " bytes, not "
                    + PagePool.PAGE_SIZE);
        }
    }

    /**
     * The audit every store makes of the receipts its users hold ({@link SwapStore#audit}): each is live (and, when
     * {@code ownReceipts}, issued by {@code store}), and together they hold as many pages as the store has in use.
     *
     * @param store       the store audited
     * @param held        the receipts held, each mapped to its holder's name
     * @param ownReceipts whether every receipt must have been issued by {@code store} itself (false for a store
     *                    that wraps another and hands out its receipts)
     * @param out         where findings go
     */
    protected static void auditReceipts(SwapStore store, Map<SwapSlots, String> held, boolean ownReceipts,
            List<SwapFinding> out) {
        long pages = 0;
        for (Map.Entry<SwapSlots, String> e : held.entrySet()) {
            SwapSlots s = e.getKey();
            if (s.released) {
                out.add(new SwapFinding(e.getValue(), "swap-receipt-live", "holds a released receipt of "
                        + s.pages + " pages"));
            } else if (ownReceipts && s.issuer != store) {
                out.add(new SwapFinding(e.getValue(), "swap-receipt-issued-here", "holds a receipt of "
                        + s.issuer + ", not of " + store));
            } else {
                pages += s.pages;
            }
        }
        long used = store.usedPages();
        if (used != pages) {
            out.add(new SwapFinding("swap", "swap-used-equals-held", "swap has " + used
                    + " pages in use but the live receipts held cover " + pages));
        }
    }

    /**
     * Returns whether the issuing store has released the receipt (its slots are no longer its own).
     *
     * @return true once released
     */
    public final boolean isReleased() {
        return released;
    }

    /** Marks the receipt released: any later use of it is refused. */
    protected final void markReleased() {
        released = true;
    }
}
