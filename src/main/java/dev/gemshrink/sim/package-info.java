/**
 * Simulations: real threads driving the Panfrost-like or the Panthor-like driver ({@link dev.gemshrink.sim.Driver})
 * under a RAM budget with the shrinker on, checking every byte read back and every invariant. {@link dev.gemshrink.sim.Simulation} runs a
 * {@link dev.gemshrink.sim.Workload} as configured by a {@link dev.gemshrink.sim.SimulationConfig} for N seconds or
 * N operations and returns a {@link dev.gemshrink.sim.SimulationResult} (summary, timeline, failures);
 * {@link dev.gemshrink.sim.HtmlReport} writes one self-contained HTML page of one or more results.
 * {@link dev.gemshrink.sim.AccessTraceReplay} replays an {@link dev.gemshrink.sim.AccessTrace} of object accesses as
 * a cache on a core device and counts its misses under a {@link dev.gemshrink.reclaim.ReclaimPolicy}; a simulation
 * also runs under a policy of its configuration. The command line's {@code simulate} is a thin front end over this
 * package. It uses only the library's public API.
 */
package dev.gemshrink.sim;
