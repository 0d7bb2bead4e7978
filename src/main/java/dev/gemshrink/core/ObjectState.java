package dev.gemshrink.core;

import dev.gemshrink.memory.SwapSlots;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of one object's bookkeeping, taken under its reservation lock by {@link ShmemObject#inspect()}. It
 * holds raw facts (counts, the frame array, the owner tally), so the invariant checker can verify them against each
 * other rather than trust derived answers.
 *
 * @param name          the object's name
 * @param pageCount     size in pages
 * @param pagesUse      pages_use_count
 * @param pinCount      pages_pin_count
 * @param vmapCount     vmap_use_count
 * @param madv          madvise state
 * @param freed         whether free() was called
 * @param pfns          a copy of the frame array (-1 for unpopulated pages), or null when there is none
 * @param residentPages the object's own count of frames held
 * @param swapSlots     the swap store's receipt for the contents, or null unless evicted
 * @param sgtStored     whether the stored sg table's page use exists
 * @param pinUseHeld    whether the pins' page use exists
 * @param vmapPinHeld   whether the CPU mappings' pin exists
 * @param tally         live owners per kind
 * @param trackedOwners held owners among the open transitions of reference tracking, or -1 when not tracking
 * @param transitions   the open count transitions, with where each happened (empty when not tracking)
 * @param straySwap     swap slots the object was given that the store still holds but the object no longer does,
 *                      each with where it was given them (empty when not tracking)
 * @param placement     the LRU list the object is on now (NONE also while parked on a scanner's private list)
 * @param lruWeight     the pages it counts for on that list
 * @param discarded     whether a discarding reclaim dropped the contents (no frames, no swap copy, uses kept)
 * @param movedTo       the stage its latest recorded LRU move names (what a drain applies; it must equal the stage
 *                      its state implies), null when that move takes it off every list
 * @param stage         the reclaim stage its state implies now (the device's classifier), null once freed
 * @param stageOn       the stage of the list it is on now, null when on none (freed, or parked by a scan) or on
 *                      another domain's list than its stage implies
 */
public record ObjectState(String name, int pageCount, int pagesUse, int pinCount, int vmapCount, Madv madv,
        boolean freed, int[] pfns, int residentPages, SwapSlots swapSlots, boolean sgtStored, boolean pinUseHeld,
        boolean vmapPinHeld, Map<OwnerKind, Integer> tally, int trackedOwners, List<RefTransition> transitions,
        List<String> straySwap, Placement placement, long lruWeight, boolean discarded, ReclaimStage movedTo,
        ReclaimStage stage, ReclaimStage stageOn) {

    /**
     * Makes an immutable copy of the tally.
     *
     * @param name see the record component
     * @param pageCount see the record component
     * @param pagesUse see the record component
     * @param pinCount see the record component
     * @param vmapCount see the record component
     * @param madv see the record component
     * @param freed see the record component
     * @param pfns see the record component
     * @param residentPages see the record component
     * @param swapSlots see the record component
     * @param sgtStored see the record component
     * @param pinUseHeld see the record component
     * @param vmapPinHeld see the record component
     * @param tally see the record component
     * @param trackedOwners see the record component
     * @param transitions see the record component
     * @param straySwap see the record component
     * @param placement see the record component
     * @param lruWeight see the record component
     * @param discarded see the record component
     * @param movedTo see the record component
     * @param stage see the record component
     * @param stageOn see the record component
     */
    public ObjectState {
        tally = Map.copyOf(tally);
        transitions = List.copyOf(transitions);
        straySwap = List.copyOf(straySwap);
    }

    /**
     * Returns how many pages the object holds in swap.
     *
     * @return the receipt's pages, or 0 unless evicted
     */
    public int swappedPages() {
        return swapSlots == null ? 0 : swapSlots.pages();
    }

    /**
     * Returns the live owners that hold a reference of one kind.
     *
     * @param ref the reference kind
     * @return the sum of the tally over the owner kinds of {@code ref}
     */
    public int owners(RefKind ref) {
        int n = 0;
        for (Map.Entry<OwnerKind, Integer> e : tally.entrySet()) {
            if (e.getKey().ref() == ref) {
                n += e.getValue();
            }
        }
        return n;
    }

    /**
     * Returns the live owners of one kind.
     *
     * @param kind the owner kind
     * @return its tally
     */
    public int owners(OwnerKind kind) {
        return tally.getOrDefault(kind, 0);
    }

    /**
     * Returns whether the contents are in swap.
     *
     * @return true when evicted
     */
    public boolean evicted() {
        return swapSlots != null;
    }
}
