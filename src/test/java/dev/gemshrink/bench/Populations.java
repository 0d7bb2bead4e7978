package dev.gemshrink.bench;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.Lock;

/** Builders of the object populations the benchmarks share, for gemshrink and for baseline A. */
final class Populations {
    private Populations() {
    }

    /**
     * A gemshrink device over a shared-frame pool of {@code frames} frames, no swap, with leak detection
     * {@link LeakDetection#SIMPLE} whatever the system property says (what users run; tracking is measured apart).
     */
    static GemDevice oursDevice(int frames) {
        return GemDevice.builder().name("gem").pool(SharedFrameBacking.pool(frames))
                .leakDetection(LeakDetection.SIMPLE).build();
    }

    /** A baseline-A device over a shared-frame pool of {@code frames} frames. */
    static OldPanfrost.Device oldDevice(int frames) {
        return new OldPanfrost.Device(SharedFrameBacking.pool(frames));
    }

    /**
     * A resident gemshrink object with its stored sg table (the state after a GPU mapping): on the evictable LRU,
     * or on the purgeable LRU when {@code dontneed}.
     */
    static ShmemObject ours(GemDevice dev, int pages, boolean dontneed) {
        ShmemObject o = dev.createObject((long) pages * PagePool.PAGE_SIZE);
        o.getPagesSgt();
        if (dontneed) {
            o.madvise(Madv.DONTNEED);
        }
        return o;
    }

    /** The same object in baseline A: resident with its stored sg table, on the shrinker list when DONTNEED. */
    static OldPanfrost.Bo old(OldPanfrost.Device dev, int pages, boolean dontneed) {
        OldPanfrost.Bo b = dev.create((long) pages * PagePool.PAGE_SIZE);
        b.getPagesSgt();
        if (dontneed) {
            dev.madvise(b, OldPanfrost.DONTNEED);
        }
        return b;
    }

    /**
     * A thread that takes a set of locks and holds them until {@link #close()}: "locked by another thread", so the
     * scanners' try-locks fail on those objects.
     */
    static final class Holder implements AutoCloseable {
        private final CountDownLatch taken = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private final Thread thread;

        /** Holds gemshrink reservation locks. */
        static Holder ofResv(List<ShmemObject> objects) {
            List<Runnable> lock = new ArrayList<>();
            List<Runnable> unlock = new ArrayList<>();
            for (ShmemObject o : objects) {
                lock.add(o.resv()::lock);
                unlock.add(o.resv()::unlock);
            }
            return new Holder(lock, unlock);
        }

        /** Holds plain locks (baseline A's pages_lock). */
        static Holder ofLocks(List<? extends Lock> locks) {
            List<Runnable> lock = new ArrayList<>();
            List<Runnable> unlock = new ArrayList<>();
            for (Lock l : locks) {
                lock.add(l::lock);
                unlock.add(l::unlock);
            }
            return new Holder(lock, unlock);
        }

        private Holder(List<Runnable> lock, List<Runnable> unlock) {
            thread = new Thread(() -> {
                lock.forEach(Runnable::run);
                taken.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                unlock.forEach(Runnable::run);
            }, "bench-lock-holder");
            thread.setDaemon(true);
            thread.start();
            try {
                taken.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
            release.countDown();
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
