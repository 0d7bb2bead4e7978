package dev.gemshrink.core;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A CPU mapping ({@code vmap_use_count}) of a whole {@link ShmemObject}: a view of its real bytes. The mapping holds
 * a pin, so the pages stay resident for as long as it is live. Accesses copy bytes across page boundaries; they
 * are not synchronised with other writers of the same bytes, exactly like shared memory. Closing it is vunmap.
 *
 * <p><b>Closing waits for accesses in flight</b>, like the TLB flush of a real vunmap: once {@link #close()} returns,
 * no access through this mapping touches a frame, so a copy racing the close can never land in frames that were
 * handed to another object. An access announces itself (a counter) and then checks that the mapping is live; a close
 * marks it released and then waits for the counter to drain. Both are volatile accesses, so either the access sees
 * the release and backs out, or the close sees the access and waits for it.
 */
public final class VMap extends Owner {
    private static final VarHandle ACCESSORS;

    static {
        try {
            ACCESSORS = MethodHandles.lookup().findVarHandle(VMap.class, "accessors", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through ACCESSORS
    private volatile int accessors; // accesses in flight
    private volatile Thread closer; // the thread waiting in close for the accesses to drain

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
        enter();
        try {
            copy(offset, arr, arrOff, len, write);
        } finally {
            exit();
        }
    }

    private void copy(long offset, byte[] arr, int arrOff, int len, boolean write) {
        copy(obj, pagesFor(offset, len), offset, arr, arrOff, len, write);
    }

    /**
     * Copies between {@code arr} and the object's frames {@code pfns} (the range checked); the caller holds a mapping
     * reference, whose pin keeps the frames in place.
     */
    static void copy(ShmemObject obj, int[] pfns, long offset, byte[] arr, int arrOff, int len, boolean write) {
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
        enter();
        try {
            fillPages(offset, len, value);
        } finally {
            exit();
        }
    }

    private void fillPages(long offset, long len, byte value) {
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
        enter();
        try {
            int[] pfns = pagesFor(offset, 1);
            return obj.device().pool().frame(pfns[(int) (offset >>> PagePool.PAGE_SHIFT)])
                    .get((int) (offset & (PagePool.PAGE_SIZE - 1)));
        } finally {
            exit();
        }
    }

    /**
     * Writes one byte.
     *
     * @param offset the byte's offset
     * @param value  the byte
     * @throws GemException EINVAL when the offset is outside the object or the mapping is closed
     */
    public void put(long offset, byte value) {
        enter();
        try {
            int[] pfns = pagesFor(offset, 1);
            obj.device().pool().frame(pfns[(int) (offset >>> PagePool.PAGE_SHIFT)])
                    .put((int) (offset & (PagePool.PAGE_SIZE - 1)), value);
        } finally {
            exit();
        }
    }

    /** Announces an access; the liveness check in {@link #pagesFor} comes after it (see the class comment). */
    private void enter() {
        ACCESSORS.getAndAdd(this, 1);
    }

    private void exit() {
        if ((int) ACCESSORS.getAndAdd(this, -1) == 1) {
            Thread c = closer;
            if (c != null) {
                LockSupport.unpark(c);
            }
        }
    }

    @Override
    void quiesce() {
        if ((int) ACCESSORS.getVolatile(this) == 0) {
            return;
        }
        closer = Thread.currentThread();
        // A copy is bounded work, so this wait is short; the timed park only guards against a missed unpark.
        while ((int) ACCESSORS.getVolatile(this) != 0) {
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(1));
        }
        closer = null;
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
