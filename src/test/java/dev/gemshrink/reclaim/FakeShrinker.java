package dev.gemshrink.reclaim;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToLongFunction;

/**
 * A test {@link Shrinker} that reports a fixed (settable) count and records each scan's {@code nrToScan}, the
 * {@link ShrinkControl#canBlock()} of each count and scan, and how often its deferred work was applied. By default a
 * scan frees everything it was asked for; {@link #onScan} replaces that.
 */
final class FakeShrinker implements Shrinker {
    private final String name;
    private final int seeks;
    private final long batch;
    private volatile long freeable;
    private final List<Long> scans = new ArrayList<>(); // guarded by this
    private final List<Boolean> countCanBlock = new ArrayList<>(); // guarded by this
    private final List<Boolean> scanCanBlock = new ArrayList<>(); // guarded by this
    final AtomicInteger counts = new AtomicInteger();
    final AtomicInteger deferredApplied = new AtomicInteger();
    volatile ToLongFunction<ShrinkControl> onScan = ShrinkControl::nrToScan;
    volatile Runnable onCount = () -> { };

    FakeShrinker(String name, long freeable) {
        this(name, freeable, DEFAULT_SEEKS, 0);
    }

    FakeShrinker(String name, long freeable, int seeks, long batch) {
        this.name = name;
        this.freeable = freeable;
        this.seeks = seeks;
        this.batch = batch;
    }

    void freeable(long n) {
        this.freeable = n;
    }

    /** Returns the nrToScan of every scan so far, in order. */
    synchronized List<Long> scans() {
        return List.copyOf(scans);
    }

    synchronized int scanCalls() {
        return scans.size();
    }

    /** Returns each count's {@link ShrinkControl#canBlock()} so far, in order. */
    synchronized List<Boolean> countCanBlock() {
        return List.copyOf(countCanBlock);
    }

    /** Returns each scan's {@link ShrinkControl#canBlock()} so far, in order. */
    synchronized List<Boolean> scanCanBlock() {
        return List.copyOf(scanCanBlock);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long count(ShrinkControl sc) {
        counts.incrementAndGet();
        synchronized (this) {
            countCanBlock.add(sc.canBlock());
        }
        onCount.run();
        return freeable;
    }

    @Override
    public long scan(ShrinkControl sc) {
        synchronized (this) {
            scans.add(sc.nrToScan());
            scanCanBlock.add(sc.canBlock());
        }
        return onScan.applyAsLong(sc);
    }

    @Override
    public void applyDeferred() {
        deferredApplied.incrementAndGet();
    }

    @Override
    public int seeks() {
        return seeks;
    }

    @Override
    public long batch() {
        return batch;
    }

    @Override
    public String toString() {
        return "FakeShrinker[" + name + "]";
    }
}
