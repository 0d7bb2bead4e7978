/**
 * A Panfrost-like driver on the generic core: {@link dev.gemshrink.panfrost.PanfrostDevice},
 * {@link dev.gemshrink.panfrost.PanfrostClient}s with their own GPU address spaces, BOs (normal and heap, which
 * grow on GPU fault), jobs with fences run by a simulated GPU thread, and the driver's evictor.
 */
package dev.gemshrink.panfrost;
