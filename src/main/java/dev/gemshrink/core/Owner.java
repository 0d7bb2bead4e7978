package dev.gemshrink.core;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Optional;

/**
 * One reference on a {@link ShmemObject}: a page use, a pin, a CPU mapping or an export. The object's counts are
 * the number of live owners of each {@link OwnerKind}. Closing an owner releases its reference exactly once; a
 * second close throws {@code EINVAL}. Owners of an {@link OwnerKind#internal() internal} kind belong to the object
 * and cannot be closed by callers.
 */
public abstract sealed class Owner implements AutoCloseable permits PagesRef, Pin, VMap, Export {
    private static final VarHandle RELEASED;

    static {
        try {
            RELEASED = MethodHandles.lookup().findVarHandle(Owner.class, "released", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final ShmemObject obj;
    private final OwnerKind kind;
    @SuppressWarnings("unused") // accessed through RELEASED
    private volatile int released;

    Owner(ShmemObject obj, OwnerKind kind) {
        this.obj = obj;
        this.kind = kind;
    }

    /**
     * Returns the object this owner holds a reference on.
     *
     * @return the object
     */
    public final ShmemObject object() {
        return obj;
    }

    /**
     * Returns what kind of owner this is.
     *
     * @return the kind
     */
    public final OwnerKind kind() {
        return kind;
    }

    /**
     * Returns whether the reference is still held.
     *
     * @return true until closed
     */
    public final boolean isLive() {
        return (int) RELEASED.getVolatile(this) == 0;
    }

    /**
     * Returns where this owner was acquired, while it is live and leak detection is {@link LeakDetection#PARANOID}
     * (the object keeps the stacks, so an owner costs no extra field otherwise).
     *
     * @return the acquisition stack, or empty
     */
    public final Optional<Throwable> acquiredAt() {
        return obj.acquiredAt(this);
    }

    /**
     * Releases the reference.
     *
     * @throws GemException EINVAL when already released, or when the owner belongs to the object itself
     */
    @Override
    public final void close() {
        if (kind.internal()) {
            throw new GemException(Errno.EINVAL, this + " belongs to " + obj.name() + " and is released by it");
        }
        release();
    }

    /** Releases the reference; the object's own path for internal owners. */
    final void release() {
        if (!RELEASED.compareAndSet(this, 0, 1)) {
            throw new GemException(Errno.EINVAL, this + " was already released");
        }
        quiesce();
        obj.release(this);
    }

    /** Waits until nothing uses the reference any more; called once it is marked released, before it goes. */
    void quiesce() {
    }

    final void checkLive() {
        if (!isLive()) {
            throw new GemException(Errno.EINVAL, this + " was already released");
        }
    }

    @Override
    public String toString() {
        return kind + " of " + obj.name();
    }
}
