/**
 * Locking: the per-object reservation lock {@link dev.gemshrink.locking.ResvLock} (a ww-mutex) and the
 * {@link dev.gemshrink.locking.AcquireContext} that takes several of them without deadlock (wait-die); lock-order
 * validation ({@link dev.gemshrink.locking.LockValidator}) over {@link dev.gemshrink.locking.LockClass}es, which
 * every reservation lock and every {@link dev.gemshrink.locking.TrackedLock} (the library's other locks) reports to.
 */
package dev.gemshrink.locking;
