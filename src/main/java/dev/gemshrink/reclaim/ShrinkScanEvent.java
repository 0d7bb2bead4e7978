package dev.gemshrink.reclaim;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * A JFR event for each shrinker scan. Disabled by default (enable {@code dev.gemshrink.ShrinkScan} in a JFR
 * configuration); when disabled, {@link #shouldCommit()} is a constant false after JIT, so the cost is near zero.
 */
@Name("dev.gemshrink.ShrinkScan")
@Label("Shrinker Scan")
@Category("gemshrink")
@Description("One call of a shrinker's scan")
@Enabled(false)
final class ShrinkScanEvent extends Event {
    @Label("Shrinker")
    String shrinker;
    @Label("Target Pages")
    long target;
    @Label("Scanned Pages")
    long scanned;
    @Label("Freed Pages")
    long freed;
    @Label("Skipped Locked Pages")
    long skipped;
}
