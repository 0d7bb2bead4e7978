package dev.gemshrink.bench;

import org.openjdk.jmh.annotations.Threads;

/** {@link HotPaths} on two threads at once, each on its own objects of the same device. */
@Threads(2)
public class HotPaths2T extends HotPaths {
}
