package dev.gemshrink;

/**
 * The kernel error codes this library reports. Every {@link GemException} carries one, so callers (and the command
 * line tool) can map a failure to the errno the real driver would return.
 */
public enum Errno {
    /** Invalid argument: bad size, flags, offset, or releasing a reference that is not held. */
    EINVAL,
    /** Out of memory: pages cannot be allocated even after reclaim, or the object is purged. */
    ENOMEM,
    /** Busy: the object is pinned, mapped, in use by the GPU, or a lock is contended. */
    EBUSY,
    /** Bad address: CPU access to memory whose contents are gone, or a swap read failed. */
    EFAULT,
    /** No such entry: the object was freed, or a name is unknown. */
    ENOENT,
    /** Deadlock avoided: a younger acquire context lost to an older one and must back off and retry. */
    EDEADLK
}
