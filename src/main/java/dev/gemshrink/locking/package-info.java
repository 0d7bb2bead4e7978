/**
 * Locking: the per-object reservation lock {@link dev.gemshrink.locking.ResvLock} (a ww-mutex) and the
 * {@link dev.gemshrink.locking.AcquireContext} that takes several of them without deadlock (wait-die).
 */
package dev.gemshrink.locking;
