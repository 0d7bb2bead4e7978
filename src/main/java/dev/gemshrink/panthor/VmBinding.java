package dev.gemshrink.panthor;

import dev.gemshrink.core.ScatterList;
import dev.gemshrink.memory.PagePool;
import java.util.Arrays;

/**
 * One bound range: {@code pages} pages of a BO, from page {@code firstPage} of the BO, at GPU address {@code va} of a
 * VM, with the page table entries of that range (a frame per page, -1 when not mapped). A binding holds one
 * reference on its BO until it is unbound.
 *
 * <p>The entries are guarded by the VM's lock; the binding is created by {@link PanthorVm#bind} and torn down by
 * {@link PanthorVm#unbind} or the VM's destruction.
 */
public final class VmBinding {
    private final PanthorVm vm;
    private final PanthorBo bo;
    private final long va;
    private final int firstPage;
    private final int[] ptes; // guarded by vm's lock
    private int live; // guarded by vm's lock: entries >= 0

    VmBinding(PanthorVm vm, PanthorBo bo, long va, int firstPage, int pages) {
        this.vm = vm;
        this.bo = bo;
        this.va = va;
        this.firstPage = firstPage;
        this.ptes = new int[pages];
        Arrays.fill(ptes, -1);
    }

    /**
     * Returns the VM the range is bound in.
     *
     * @return the VM
     */
    public PanthorVm vm() {
        return vm;
    }

    /**
     * Returns the bound BO.
     *
     * @return the BO
     */
    public PanthorBo bo() {
        return bo;
    }

    /**
     * Returns the GPU address of the range's first byte.
     *
     * @return the VA
     */
    public long va() {
        return va;
    }

    /**
     * Returns the byte offset in the BO where the range starts.
     *
     * @return the offset, a multiple of the page size
     */
    public long offset() {
        return (long) firstPage << PagePool.PAGE_SHIFT;
    }

    /**
     * Returns the size of the range.
     *
     * @return bytes, a multiple of the page size
     */
    public long size() {
        return (long) ptes.length << PagePool.PAGE_SHIFT;
    }

    /**
     * Returns a copy of the range's page table entries (frame per page, -1 when not mapped).
     *
     * @return the entries
     */
    public int[] ptes() {
        return vm.locked(ptes::clone);
    }

    /** The BO page the range starts at. */
    int firstPage() {
        return firstPage;
    }

    /** The frame at a page of the range, or -1. VM lock held. */
    int pte(int page) {
        return ptes[page];
    }

    /** Whether any entry is mapped. VM lock held. */
    boolean isMapped() {
        return live > 0;
    }

    /** Points the range's entries at the frames a table of the BO's pages lists. VM lock held. */
    void writePtes(ScatterList sg) {
        int end = firstPage + ptes.length;
        for (ScatterList.Segment seg : sg.segments()) {
            int from = Math.max(seg.pageIndex(), firstPage);
            int to = Math.min(seg.pageIndex() + seg.count(), end);
            for (int page = from; page < to; page++) {
                int slot = page - firstPage;
                if (ptes[slot] < 0) {
                    live++;
                }
                ptes[slot] = seg.firstPfn() + (page - seg.pageIndex());
            }
        }
    }

    /** Unmaps every entry. VM lock held. */
    void clearPtes() {
        Arrays.fill(ptes, -1);
        live = 0;
    }

    @Override
    public String toString() {
        return "VmBinding[" + bo.name() + " pages " + firstPage + "+" + ptes.length + " at 0x" + Long.toHexString(va)
                + " in " + vm.name() + "]";
    }
}
