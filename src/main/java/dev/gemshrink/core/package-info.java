/**
 * The core buffer object: {@link dev.gemshrink.core.ShmemObject} with its page use, pin and vmap counts, madvise
 * state and residency, where every reference is an {@link dev.gemshrink.core.Owner}; and the
 * {@link dev.gemshrink.core.GemDevice} whose memory its objects share.
 */
package dev.gemshrink.core;
