package dev.gemshrink.core;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A CPU mapping ({@code vmap_use_count}) of a whole {@link ShmemObject}: a view of its real bytes. The mapping holds
 * a pin, so the pages stay resident for as long as it is live. Accesses copy bytes across page boundaries; they
 * are not synchronised with other writers of the same bytes, exactly like shared memory. Closing it is vunmap.
 */
public final class VMap extends Owner {
    VMap(ShmemObject obj, OwnerKind kind) {
        super(obj, kind);
    }

    /**
     * Returns the mapped size.
     *
     * @return the object's size in bytes
     */
    public long size() {
        return obj.size();
    }

    /**
     * Copies bytes out of the object.
     *
     * @param offset where to start in the object
     * @param dst    the destination array
     * @param dstOff where to start in {@code dst}
     * @param len    how many bytes
     * @throws GemException EINVAL when the range is outside the object or the mapping is closed
     */
    public void read(long offset, byte[] dst, int dstOff, int len) {
        Objects.checkFromIndexSize(dstOff, len, dst.length);
        transfer(offset, dst, dstOff, len, false);
    }

    /**
     * Copies bytes into the object.
     *
     * @param offset where to start in the object
     * @param src    the source array
     * @param srcOff where to start in {@code src}
     * @param len    how many bytes
     * @throws GemException EINVAL when the range is outside the object or the mapping is closed
     */
    public void write(long offset, byte[] src, int srcOff, int len) {
        Objects.checkFromIndexSize(srcOff, len, src.length);
        transfer(offset, src, srcOff, len, true);
    }

    private void transfer(long offset, byte[] arr, int arrOff, int len, boolean write) {
        int[] pfns = pagesFor(offset, len);
        PagePool pool = obj.device().pool();
        int done = 0;
        while (done < len) {
            long at = offset + done;
            int inPage = (int) (at & (PagePool.PAGE_SIZE - 1));
            int n = Math.min(len - done, PagePool.PAGE_SIZE - inPage);
            ByteBuffer frame = pool.frame(pfns[(int) (at >>> PagePool.PAGE_SHIFT)]);
            if (write) {
                frame.put(inPage, arr, arrOff + done, n);
            } else {
                frame.get(inPage, arr, arrOff + done, n);
            }
            done += n;
        }
    }

    /**
     * Sets {@code len} bytes to {@code value}.
     *
     * @param offset where to start
     * @param len    how many bytes
     * @param value  the byte to write
     * @throws GemException EINVAL when the range is outside the object or the mapping is closed
     */
    public void fill(long offset, long len, byte value) {
        int[] pfns = pagesFor(offset, len);
        PagePool pool = obj.device().pool();
        long done = 0;
        while (done < len) {
            long at = offset + done;
            int inPage = (int) (at & (PagePool.PAGE_SIZE - 1));
            int n = (int) Math.min(len - done, PagePool.PAGE_SIZE - inPage);
            ByteBuffer f = pool.frame(pfns[(int) (at >>> PagePool.PAGE_SHIFT)]);
            for (int i = 0; i < n; i++) {
                f.put(inPage + i, value);
            }
            done += n;
        }
    }

    /**
     * Reads one byte.
     *
     * @param offset the byte's offset
     * @return the byte
     * @throws GemException EINVAL when the offset is outside the object or the mapping is closed
     */
    public byte get(long offset) {
        int[] pfns = pagesFor(offset, 1);
        return obj.device().pool().frame(pfns[(int) (offset >>> PagePool.PAGE_SHIFT)])
                .get((int) (offset & (PagePool.PAGE_SIZE - 1)));
    }

    /**
     * Writes one byte.
     *
     * @param offset the byte's offset
     * @param value  the byte
     * @throws GemException EINVAL when the offset is outside the object or the mapping is closed
     */
    public void put(long offset, byte value) {
        int[] pfns = pagesFor(offset, 1);
        obj.device().pool().frame(pfns[(int) (offset >>> PagePool.PAGE_SHIFT)])
                .put((int) (offset & (PagePool.PAGE_SIZE - 1)), value);
    }

    private int[] pagesFor(long offset, long len) {
        checkLive();
        if (offset < 0 || len < 0 || offset > obj.size() - len) {
            throw new GemException(Errno.EINVAL, "range [" + offset + ", +" + len + ") is outside "
                    + obj.name() + " of " + obj.size() + " bytes");
        }
        // The mapping's pin keeps the page array in place: it cannot be evicted, purged or released while live.
        return obj.residentPfns();
    }
}
