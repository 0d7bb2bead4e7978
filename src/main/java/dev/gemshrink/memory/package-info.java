/**
 * Memory: the {@link dev.gemshrink.memory.PagePool} of RAM pages with real bytes, its
 * {@link dev.gemshrink.memory.PageBacking}, and the {@link dev.gemshrink.memory.SwapStore} evicted pages go to.
 */
package dev.gemshrink.memory;
