package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.TrackedLock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A client of the device (a DRM file): its VMs and its BO handles. Closing it destroys its VMs (waiting for their
 * jobs, unbinding every range, freeing their heaps) and closes its handles, so it holds nothing afterwards.
 *
 * <p>Locking: {@link #lock} guards the VM list, the handles and the closed flag; it is taken before anything a BO
 * creation takes (the core device's object list) and is never held while calling into a VM or a BO's locks.
 */
public final class PanthorClient implements AutoCloseable {
    /** The lock class of every client's lock. */
    static final LockClass LOCK = LockClass.named("PanthorClient.lock");

    private final PanthorDevice dev;
    private final String name;
    private final TrackedLock lock;
    private final List<PanthorVm> vms = new ArrayList<>(); // guarded by lock
    private final Set<PanthorBo> handles = new LinkedHashSet<>(); // guarded by lock: each holds one BO reference
    private boolean closed; // guarded by lock

    PanthorClient(PanthorDevice dev, String name) {
        this.dev = dev;
        this.name = name;
        this.lock = new TrackedLock(LOCK, name);
    }

    /**
     * Returns the client's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Creates a VM (a GPU address space) of this client.
     *
     * @param vmName a name for messages
     * @return the VM
     * @throws GemException ENOENT when the client is closed
     */
    public PanthorVm createVm(String vmName) {
        lock.lock();
        try {
            requireOpen();
            PanthorVm vm = new PanthorVm(dev, this, vmName);
            vms.add(vm);
            dev.remember(vm);
            return vm;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Creates a BO and a handle to it. It has no pages until it is bound.
     *
     * @param boName    a name for messages (unique on the device), or null for {@code bo#N}
     * @param size      bytes, rounded up to whole pages
     * @param flags     0 or {@link PanthorBo#DISCARD_ON_RECLAIM}
     * @param privateTo the one VM of this client the BO may be bound in, or null for a shareable BO
     * @return the BO
     * @throws GemException EINVAL for a bad size, unknown flags or a VM of another client; ENOENT when the client is
     *                      closed
     */
    public PanthorBo createBo(String boName, long size, int flags, PanthorVm privateTo) {
        lock.lock();
        try {
            requireOpen();
            PanthorBo bo = dev.newBo(this, boName, size, flags, privateTo);
            handles.add(bo);
            return bo;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes the handle to a BO; the BO is freed once no binding holds it either.
     *
     * @param bo a BO this client holds a handle to
     * @throws GemException ENOENT when the client holds no handle to it (nothing changes)
     */
    public void closeBo(PanthorBo bo) {
        boolean had;
        lock.lock();
        try {
            had = handles.remove(bo);
        } finally {
            lock.unlock();
        }
        if (!had) {
            throw new GemException(Errno.ENOENT, name + " holds no handle to " + (bo == null ? null : bo.name()));
        }
        bo.dropHandle();
    }

    /**
     * Returns the client's VMs.
     *
     * @return a snapshot
     */
    public List<PanthorVm> vms() {
        lock.lock();
        try {
            return List.copyOf(vms);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the BOs this client holds a handle to.
     *
     * @return a snapshot
     */
    public List<PanthorBo> bos() {
        lock.lock();
        try {
            return List.copyOf(handles);
        } finally {
            lock.unlock();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new GemException(Errno.ENOENT, name + " is closed");
        }
    }

    /**
     * Closes the client: destroys its VMs (after their jobs finish) and closes its handles. Every step is attempted
     * even when an earlier one throws; the first failure is rethrown afterwards. Idempotent.
     */
    @Override
    public void close() {
        List<PanthorVm> myVms;
        List<PanthorBo> myBos;
        lock.lock();
        try {
            closed = true;
            myVms = List.copyOf(vms);
            myBos = List.copyOf(handles);
            vms.clear();
            handles.clear();
        } finally {
            lock.unlock();
        }
        Failures failures = new Failures();
        for (PanthorVm vm : myVms) {
            try {
                vm.destroy();
            } catch (Throwable t) {
                failures.add(t);
            } finally {
                dev.forget(vm);
            }
        }
        for (PanthorBo bo : myBos) {
            try {
                bo.dropHandle();
            } catch (Throwable t) {
                failures.add(t);
            }
        }
        dev.forget(this);
        failures.rethrow();
    }

    @Override
    public String toString() {
        return "PanthorClient[" + name + "]";
    }
}
