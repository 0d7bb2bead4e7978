package dev.gemshrink.sim;

import dev.gemshrink.reclaim.ForwardingShrinker;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import dev.gemshrink.reclaim.ShrinkerRegistry;
import java.util.Arrays;

/**
 * Measures how long each scan of the device's shrinker takes. It wraps the device's own shrinker: the device's
 * registration is closed and this wrapper is registered in its place, in the same registry and under the same
 * name, so direct reclaim, the background reclaimer and explicit scans all go through it and behave exactly as
 * before. Everything here is public API ({@link ShrinkerRegistry.Registration#shrinker()}, {@code close()},
 * {@link ShrinkerRegistry#register}).
 */
final class TimedShrinker extends ForwardingShrinker {
    private long[] nanos = new long[1024]; // guarded by this
    private int count; // guarded by this

    private TimedShrinker(Shrinker inner) {
        super(inner);
    }

    /**
     * Replaces a registered shrinker by a timed wrapper of it.
     *
     * @param registry     the registry it is registered with
     * @param registration its registration (closed here)
     * @return the wrapper and its registration
     */
    static Installed install(ShrinkerRegistry registry, ShrinkerRegistry.Registration registration) {
        TimedShrinker t = new TimedShrinker(registration.shrinker());
        registration.close();
        return new Installed(t, registry.register(t));
    }

    /** A wrapper and its registration (whose stats are the device shrinker's from then on). */
    record Installed(TimedShrinker timer, ShrinkerRegistry.Registration registration) {
    }

    @Override
    public long scan(ShrinkControl sc) {
        long t0 = System.nanoTime();
        try {
            return super.scan(sc);
        } finally {
            record(System.nanoTime() - t0);
        }
    }

    private synchronized void record(long n) {
        if (count == nanos.length) {
            nanos = Arrays.copyOf(nanos, count * 2);
        }
        nanos[count++] = n;
    }

    /**
     * Returns the scan durations so far.
     *
     * @return nanoseconds per scan, sorted
     */
    synchronized long[] sorted() {
        long[] a = Arrays.copyOf(nanos, count);
        Arrays.sort(a);
        return a;
    }

    /** The nearest-rank percentile of sorted values (0 when there are none). */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
