package dev.gemshrink.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where evicted pages go. A store keeps whole objects: {@link #store} writes all pages of one object or none,
 * {@link #load} reads them back byte for byte, {@link #release} frees the slots.
 *
 * <p>Failures: a store either returns a receipt or throws and holds nothing, whatever fails. Bad arguments are
 * refused with IllegalArgumentException before anything is reserved; a full store, a failed write, or the store
 * running out of memory for its own buffers (an {@link OutOfMemoryError} it caught) is an {@link IOException}, thrown
 * after the reservation is rolled back; any other Error is rethrown after the rollback. A failed load keeps the swap
 * copy and the receipt.
 *
 * <p>Thread safety: implementations are safe for concurrent use by many objects; one receipt is used by one thread
 * at a time (its object's reservation lock is held).
 */
public interface SwapStore extends AutoCloseable {

    /**
     * Returns the capacity.
     *
     * @return the number of pages the store can hold
     */
    long capacityPages();

    /**
     * Returns the pages held now.
     *
     * @return used pages
     */
    long usedPages();

    /**
     * Returns whether {@code pages} more pages fit now.
     *
     * @param pages how many pages
     * @return true when a store of that many pages would find room
     */
    default boolean hasRoom(long pages) {
        return capacityPages() - usedPages() >= pages;
    }

    /**
     * Writes pages to swap, all or nothing.
     *
     * @param pages the page contents (4 KiB each; read with absolute gets, not modified)
     * @return a receipt for the stored pages
     * @throws IOException              when the store is full, the write fails, or the store cannot get memory for
     *                                  it; then nothing is held
     * @throws IllegalArgumentException when a page is null or shorter than 4 KiB; then nothing is held
     */
    SwapSlots store(ByteBuffer[] pages) throws IOException;

    /**
     * Reads stored pages back. The receipt stays valid: on failure the swap copy is kept.
     *
     * @param slots the receipt from {@link #store}
     * @param into  buffers of 4 KiB to fill, as many as {@code slots.pages()}
     * @throws IOException              when a read fails or the data does not verify
     * @throws IllegalArgumentException when the receipt is not a live one of this store, or {@code into} does not
     *                                  hold exactly {@code slots.pages()} writable buffers of 4 KiB
     */
    void load(SwapSlots slots, ByteBuffer[] into) throws IOException;

    /**
     * Frees the slots of a receipt. Releasing a receipt twice is an error.
     *
     * @param slots the receipt from {@link #store}
     */
    void release(SwapSlots slots);

    /**
     * Audits the store against the receipts its users hold: every receipt is live and covers its pages, no slot
     * belongs to two receipts, and every slot in use belongs to one of them (none leaked). Exact when nothing else
     * runs. The default checks that each receipt is live and that the pages in use equal the receipts' pages; a
     * store that keeps a slot map checks each slot, and a store that wraps another passes the audit on.
     *
     * @param held the receipts held, each mapped to its holder's name (receipts compare by identity)
     * @return what does not add up, each naming its holder; empty when the store and the receipts agree
     */
    default List<SwapFinding> audit(Map<SwapSlots, String> held) {
        List<SwapFinding> out = new ArrayList<>();
        SwapSlots.auditReceipts(this, held, false, out);
        return out;
    }

    /** Releases the store's resources; the default does nothing. */
    @Override
    default void close() throws IOException {
    }

    /**
     * Returns a store that keeps pages in heap memory.
     *
     * @param capacityPages how many pages it holds at most
     * @return a new in-memory store
     */
    static SwapStore inMemory(long capacityPages) {
        return new MemorySwapStore(capacityPages);
    }

    /**
     * Returns a store that holds nothing: every store fails, so objects are never evicted.
     *
     * @return a store of capacity 0
     */
    static SwapStore none() {
        return new MemorySwapStore(0);
    }
}
