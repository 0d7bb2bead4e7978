package dev.gemshrink.bench;

import org.openjdk.jmh.annotations.Threads;

/** {@link HotPaths} on one thread. */
@Threads(1)
public class HotPaths1T extends HotPaths {
}
