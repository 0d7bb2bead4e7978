/**
 * Reclaim: the intrusive {@link dev.gemshrink.reclaim.GemLru} lists, the {@link dev.gemshrink.reclaim.ReclaimPolicy}
 * a device orders each pass's victims by (with its per-device {@link dev.gemshrink.reclaim.ReclaimOrder}: SIEVE,
 * S3-FIFO, W-TinyLFU; LRU is the lists' own order), the {@link dev.gemshrink.reclaim.Shrinker}
 * interface and the {@link dev.gemshrink.reclaim.ShrinkerRegistry} that distributes work over shrinkers the way
 * Linux does, a kswapd-like {@link dev.gemshrink.reclaim.BackgroundReclaimer}, and pressure sources from the JVM
 * heap and Linux PSI. Nothing here depends on the buffer object itself.
 */
package dev.gemshrink.reclaim;
