/**
 * The {@code gemshrink} command line tool: argument parsing (picocli) and printing only. {@code replay} runs a trace
 * of driver calls (format v1, see {@code docs/trace-format.md}); {@code simulate} runs a
 * {@link dev.gemshrink.sim.Simulation} (see {@code docs/simulate.md}). It uses only the library's public API. Not
 * exported by the module: the entry point is {@link dev.gemshrink.cli.Main}, run from the shaded jar
 * {@code target/gemshrink-cli.jar}.
 */
package dev.gemshrink.cli;
