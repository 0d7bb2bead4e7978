package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;

/**
 * A client's CPU mapping of a whole BO (a user mmap), made by {@link PanthorBo#mmap()}. It holds a reference on the
 * BO until closed, but does not pin it: reclaim may evict or discard a mapped BO (the mapping holds no frame, so
 * there is nothing else to zap), and the next access through the mapping faults the BO back in, as a page fault
 * would: it makes the BO resident with its pages kept (swapped in, or refilled with zeros after a discard), then
 * copies. While a mapping is open and the BO is bound nowhere, the BO is in the {@code mmapped} reclaim stage.
 *
 * <p>Thread safety: accesses and the close run under the BO's reservation lock, which guards {@link #open}.
 */
public final class CpuMapping implements AutoCloseable {
    private final PanthorBo bo;
    private boolean open = true; // guarded by the BO's reservation lock

    CpuMapping(PanthorBo bo) {
        this.bo = bo;
    }

    /**
     * Returns the mapped BO.
     *
     * @return the BO
     */
    public PanthorBo bo() {
        return bo;
    }

    /**
     * Returns whether the mapping is still open.
     *
     * @return false once closed
     */
    public boolean isOpen() {
        return bo.withResv(() -> open);
    }

    /**
     * Reads through the mapping, faulting the BO in first when it was reclaimed.
     *
     * @param offset where to start
     * @param dst    where to copy to (its whole length)
     * @throws GemException EINVAL for a range outside the BO; EFAULT when the mapping is closed (nothing changes
     *                      for either); ENOMEM when the BO cannot be made resident
     */
    public void read(long offset, byte[] dst) {
        access(offset, dst, false);
    }

    /**
     * Writes through the mapping, faulting the BO in first when it was reclaimed.
     *
     * @param offset where to start
     * @param src    what to copy (its whole length)
     * @throws GemException EINVAL for a range outside the BO; EFAULT when the mapping is closed (nothing changes
     *                      for either); ENOMEM when the BO cannot be made resident
     */
    public void write(long offset, byte[] src) {
        access(offset, src, true);
    }

    private void access(long offset, byte[] buf, boolean write) {
        if (offset < 0 || offset > bo.size() - buf.length) {
            throw new GemException(Errno.EINVAL, "range [" + offset + ", +" + buf.length + ") is outside the mapping"
                    + " of " + bo.name() + " of " + bo.size() + " bytes");
        }
        bo.withResv(() -> {
            if (!open) {
                throw new GemException(Errno.EFAULT, "access to a closed mapping of " + bo.name());
            }
            bo.fault(offset, buf, write);
            return null;
        });
    }

    /** Unmaps: the BO leaves the mmapped stage once its last mapping is closed, and the reference is dropped. */
    @Override
    public void close() {
        boolean wasOpen = bo.withResv(() -> {
            if (!open) {
                return false;
            }
            open = false;
            bo.unmapLocked(this);
            return true;
        });
        if (wasOpen) {
            bo.unref(); // outside the lock: the last reference frees the BO, which takes it
        }
    }

    @Override
    public String toString() {
        return "CpuMapping[" + bo.name() + "]";
    }
}
