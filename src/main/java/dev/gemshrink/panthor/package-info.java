/**
 * A Panthor-like driver on the core: {@link dev.gemshrink.panthor.PanthorDevice}, clients with one or more
 * {@link dev.gemshrink.panthor.PanthorVm}s, BOs private to one VM or shareable, explicit bind and unbind of BO
 * ranges at GPU addresses, tiler heaps, and jobs run by a GPU thread.
 *
 * <p><b>Reclaim is transparent</b>: there is no madvise, every BO stays WILLNEED. The core device's shrinker,
 * registered as {@code drm-panthor-gem}, reclaims them in the core's scan order (its evict pass, least recently
 * used first, only while swap exists: its count is 0 without swap); the driver's evictor refuses a BO bound in a VM
 * with a job in flight, evicts the others to swap, and drops the contents of those created with
 * {@link dev.gemshrink.panthor.PanthorBo#DISCARD_ON_RECLAIM} (they come back as zeros and count the discard). A
 * scan that frees nothing answers 0 at most twice in a row, then STOP
 * ({@link dev.gemshrink.reclaim.NoProgressLimit}). Evicted and discarded BOs are made resident again lazily, when a
 * job of a VM they are bound in is submitted, not by the shrinker.
 *
 * <p><b>Tiler heaps</b> grow chunk by chunk without reclaim (fail fast); a chunk that cannot be had ends the job
 * with {@link dev.gemshrink.panthor.PanthorJob.Status#INCREMENTAL_RENDERING_NEEDED} instead of a fault.
 *
 * <p>The driver does not depend on the Panfrost driver model, nor it on this one.
 */
package dev.gemshrink.panthor;
