package dev.gemshrink.drivers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.testing.DriverUnderTest.Bo;
import dev.gemshrink.testing.DriverUnderTest.Client;
import dev.gemshrink.testing.DriverUnderTest.Device;
import dev.gemshrink.testing.DriverUnderTest.Hold;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The driver-neutral workload of the shared stress and soak tests: clients, each on a thread of its own, keep BOs
 * whose contents the test knows and, step after seeded step, write and read them through GPU jobs and the CPU,
 * reclaim them, hold them (a pin, a CPU mapping or a job in flight) while asking the shrinker for everything, and
 * free and recreate them; a scanner thread asks the shrinker for pages all along, and RAM is short enough for direct
 * reclaim. Refusals under pressure (EBUSY, ENOMEM) are counted; anything else a step throws is an error.
 *
 * <p>What must hold, checked by {@link #finish}: no error and no hang; every read returned what was last written (a
 * new BO reads zeros); a held BO stayed resident through every scan; after the run each BO reads back exactly its
 * last contents, the driver's checker finds nothing, and closing the clients leaves the device empty.
 */
final class DriverWorkload {
    /**
     * What to run.
     *
     * @param clients  clients, one thread each
     * @param bos      BOs each client keeps
     * @param minPages the smallest BO
     * @param maxPages the largest BO
     * @param steps    steps per client at most
     * @param millis   how long the clients run at most
     */
    record Settings(int clients, int bos, int minPages, int maxPages, long steps, long millis) {
    }

    private static final long JOIN_GRACE_MS = 60_000;

    private final Device dev;
    private final Settings settings;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final ConcurrentLinkedQueue<String> integrityFailures = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    private final LongAdder steps = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder holdsScanned = new LongAdder();
    private final LongAdder verifiedBytes = new LongAdder();
    private final LongAdder scannerFreed = new LongAdder();
    private final List<Worker> workers = new ArrayList<>();

    DriverWorkload(Device dev, Settings settings) {
        this.dev = dev;
        this.settings = settings;
    }

    /** Runs the clients and the scanner until every client has done its steps or the time is up, then joins them. */
    void run() throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < settings.clients(); i++) {
            Worker w = new Worker(dev.openClient("client" + i), 0x5eed0000L + i);
            workers.add(w);
            Thread t = new Thread(w, "workload-client" + i);
            t.setDaemon(true); // a hang fails the test below; it must not keep the JVM alive
            threads.add(t);
        }
        Thread scanner = new Thread(this::scanLoop, "workload-scanner");
        scanner.setDaemon(true);
        scanner.start();
        threads.forEach(Thread::start);
        long deadline = System.currentTimeMillis() + settings.millis();
        for (Thread t : threads) {
            t.join(Math.max(1, deadline - System.currentTimeMillis()));
        }
        stop.set(true);
        long joinDeadline = System.currentTimeMillis() + JOIN_GRACE_MS;
        for (Thread t : threads) {
            t.join(Math.max(1, joinDeadline - System.currentTimeMillis()));
            assertThat(t.isAlive()).as("%s finished (no hang)", t.getName()).isFalse();
        }
        scanner.join(Math.max(1, joinDeadline - System.currentTimeMillis()));
        assertThat(scanner.isAlive()).as("scanner finished").isFalse();
    }

    /**
     * After {@link #run}: verifies every BO single-threaded, checks the driver's invariants, closes the clients and
     * asserts that the device holds nothing.
     *
     * @return the run's figures, one line
     */
    String finish() {
        errors.forEach(Throwable::printStackTrace);
        assertThat(errors).as("unexpected errors").isEmpty();
        long checked = 0;
        for (Worker w : workers) {
            checked += w.finalVerify();
        }
        assertThat(integrityFailures).as("integrity failures").isEmpty();
        dev.assertClean();
        for (Worker w : workers) {
            w.client.close();
        }
        dev.assertEmpty();
        assertThat(steps.sum()).as("steps run").isPositive();
        assertThat(holdsScanned.sum()).as("held BOs scanned").isPositive();
        return String.format("%d steps, %d refused (EBUSY/ENOMEM), %d held BOs scanned, %d bytes verified,"
                + " %d BOs checked at the end, scanner freed %d pages, shrinker freed %d pages",
                steps.sum(), refused.sum(), holdsScanned.sum(), verifiedBytes.sum(), checked, scannerFreed.sum(),
                dev.gem().shrinker().stats().freed());
    }

    private void scanLoop() {
        SplittableRandom rnd = new SplittableRandom(0xc0ffee);
        try {
            while (!stop.get()) {
                scannerFreed.add(dev.shrink(1 + rnd.nextInt(64)));
                Thread.yield();
            }
        } catch (Throwable t) {
            errors.add(t);
        }
    }

    /** A BO and what it holds. */
    private static final class Buf {
        final Bo bo;
        byte[] contents;

        Buf(Bo bo) {
            this.bo = bo;
            this.contents = new byte[(int) bo.size()];
        }
    }

    /** One client on its own thread. */
    private final class Worker implements Runnable {
        private final Client client;
        private final SplittableRandom rnd;
        private final List<Buf> bufs = new ArrayList<>();

        Worker(Client client, long seed) {
            this.client = client;
            this.rnd = new SplittableRandom(seed);
        }

        @Override
        public void run() {
            try {
                for (long i = 0; i < settings.steps() && !stop.get(); i++) {
                    try {
                        step();
                    } catch (GemException e) {
                        if (e.errno() != Errno.EBUSY && e.errno() != Errno.ENOMEM) {
                            throw e;
                        }
                        refused.increment();
                    }
                    steps.increment();
                }
            } catch (Throwable t) {
                errors.add(t);
            }
        }

        private void step() {
            if (bufs.size() < settings.bos()) {
                create();
                return;
            }
            Buf b = bufs.get(rnd.nextInt(bufs.size()));
            switch (rnd.nextInt(8)) {
                case 0 -> {
                    byte[] data = bytes(b);
                    b.bo.gpuWrite(data);
                    b.contents = data;
                }
                case 1 -> compare("GPU read", b, b.bo.gpuRead());
                case 2 -> {
                    int off = rnd.nextInt(b.contents.length);
                    byte[] data = new byte[1 + rnd.nextInt(b.contents.length - off)];
                    rnd.nextBytes(data);
                    b.bo.write(off, data);
                    System.arraycopy(data, 0, b.contents, off, data.length);
                }
                case 3 -> compare("CPU read", b, cpuRead(b));
                case 4 -> b.bo.reclaim();
                case 5 -> b.bo.swapIn();
                case 6 -> holdAndScan(b);
                default -> {
                    bufs.remove(b);
                    b.bo.free();
                }
            }
        }

        private byte[] bytes(Buf b) {
            byte[] data = new byte[b.contents.length];
            rnd.nextBytes(data);
            return data;
        }

        private byte[] cpuRead(Buf b) {
            byte[] got = new byte[b.contents.length];
            b.bo.read(0, got);
            return got;
        }

        private void create() {
            Buf b = new Buf(client.createBo(null, (long) (settings.minPages()
                    + rnd.nextInt(settings.maxPages() - settings.minPages() + 1)) * DriverTesting.PAGE));
            bufs.add(b);
            compare("new BO read", b, cpuRead(b));
        }

        /** Holds the BO one of three ways while the shrinker is asked for everything: it must stay resident. */
        private void holdAndScan(Buf b) {
            int kind = rnd.nextInt(3);
            Hold h = kind == 0 ? b.bo.pin() : kind == 1 ? b.bo.vmap() : b.bo.busy();
            try {
                dev.shrink(Integer.MAX_VALUE);
                holdsScanned.increment();
                if (!b.bo.isResident()) {
                    integrityFailures.add(client.name() + ": " + b.bo.name() + " reclaimed while held ("
                            + (kind == 0 ? "pinned" : kind == 1 ? "mapped" : "busy") + ")");
                }
                if (kind != 2) {
                    compare("CPU read while held", b, cpuRead(b));
                }
            } finally {
                h.close();
            }
        }

        private void compare(String what, Buf b, byte[] got) {
            if (!Arrays.equals(got, b.contents)) {
                integrityFailures.add(client.name() + ": " + what + " of " + b.bo.name() + " differs at byte "
                        + Arrays.mismatch(got, b.contents));
            } else {
                verifiedBytes.add(got.length);
            }
        }

        /** Verifies every BO through a GPU job and the CPU; returns how many. */
        long finalVerify() {
            for (Buf b : bufs) {
                compare("final GPU read", b, b.bo.gpuRead());
                compare("final CPU read", b, cpuRead(b));
            }
            return bufs.size();
        }
    }
}
