/**
 * What a driver shows about its memory, in driver-neutral types: {@link dev.gemshrink.stats.Fdinfo}, the standard
 * per-client fdinfo memory keys with the kernel's text form, and {@link dev.gemshrink.stats.GemsTable}, the per-device
 * table of buffer objects (one {@link dev.gemshrink.stats.GemsTable.Row} each, in a
 * {@link dev.gemshrink.stats.BoState}). A driver computes them from its own facts; these types hold the rules that
 * are the same for every driver (what counts as shared, resident, purgeable, active) and the printed forms.
 */
package dev.gemshrink.stats;
