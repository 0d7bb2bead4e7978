/**
 * A Panthor-like driver on the core: {@link dev.gemshrink.panthor.PanthorDevice}, clients with one or more
 * {@link dev.gemshrink.panthor.PanthorVm}s, BOs private to one VM or shareable, explicit bind and unbind of BO
 * ranges at GPU addresses, tiler heaps, and jobs run by a GPU thread.
 *
 * <p><b>Reclaim is transparent</b>: there is no madvise, every BO stays WILLNEED. The core device's shrinker,
 * registered as {@code drm-panthor-gem}, scans the driver's reclaim stages cheapest first: BOs bound nowhere, then
 * CPU-mapped ones ({@link dev.gemshrink.panthor.CpuMapping}, which does not pin), then, only when the reclaim context
 * may block, BOs bound in one VM (on per-VM lists, least recently used VM first) and BOs bound in several; those two
 * stages wait briefly for a busy BO's jobs. It evicts only while swap has room (its count is 0 without swap). The
 * driver's evictor refuses a BO bound in a VM with a job in flight, evicts the others to swap, and drops the
 * contents of those created with {@link dev.gemshrink.panthor.PanthorBo#DISCARD_ON_RECLAIM} (they come back as zeros
 * and count the discard). A scan that frees nothing answers 0 at most twice in a row, then STOP
 * ({@link dev.gemshrink.reclaim.NoProgressLimit}). Evicted and discarded BOs are made resident again lazily, when a
 * job of a VM they are bound in is submitted or a CPU mapping is accessed, not by the shrinker.
 *
 * <p><b>Tiler heaps</b> grow chunk by chunk without reclaim (fail fast); a chunk that cannot be had ends the job
 * with {@link dev.gemshrink.panthor.PanthorJob.Status#INCREMENTAL_RENDERING_NEEDED} instead of a fault.
 *
 * <p>The driver does not depend on the Panfrost driver model, nor it on this one.
 */
package dev.gemshrink.panthor;
