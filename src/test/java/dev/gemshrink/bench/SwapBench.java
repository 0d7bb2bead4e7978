package dev.gemshrink.bench;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.FileSwapStore;
import dev.gemshrink.memory.PageBacking;
import dev.gemshrink.memory.PagePool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Swap throughput: 256 MiB (256 objects of 1 MiB, random contents, real frames of either backing: {@code backing}
 * HEAP or DIRECT) evicted to a {@link FileSwapStore} and swapped back in, against a raw {@link FileChannel} writing
 * and reading the same bytes (heap frames, gathered 1 MiB at a time into one direct buffer and moved with one
 * positional call) in the same run. Files live in a temporary directory under /tmp (page cache; nothing is fsync'ed
 * on either side).
 *
 * <ul>
 *   <li>{@code swapOut}: the device shrinker's scan asked for all 65,536 pages: it evicts every object (a CRC32 per
 *       page; heap frames are copied into the store's chunk buffer and written 256 KiB per call, direct frames are
 *       written in place, 4 KiB per call; the pool takes the frames back).</li>
 *   <li>{@code swapIn}: pin + unpin of every object: the pin swaps it in (new frames from the pool, zero-filled;
 *       heap frames: read 256 KiB per call and copied in, direct frames: read in place 4 KiB per call; CRC32
 *       verified).</li>
 *   <li>{@code rawWrite} / {@code rawRead}: the same 256 MiB through one FileChannel, 1 MiB per call.</li>
 * </ul>
 * Single-shot: the score is the time of one whole 256 MiB pass; MiB/s = 256 / seconds. The opposite operation runs
 * untimed before each invocation ({@code @Setup(Level.Invocation)}) so that every invocation moves 256 MiB.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, batchSize = 1)
@Measurement(iterations = 8, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1536m", "-Xmx1536m"})
@Threads(1)
public class SwapBench {
    static final int OBJECT_PAGES = 256;
    static final int OBJECTS = 256;
    static final int TOTAL_PAGES = OBJECT_PAGES * OBJECTS; // 65,536 pages = 256 MiB

    @State(Scope.Benchmark)
    public static class Store {
        /** Where the device's frames live: a {@link PageBacking.Kind}. */
        @Param({"HEAP", "DIRECT"})
        public String backing;
        Path dir;
        GemDevice dev;
        ShmemObject[] objs;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            dir = Files.createTempDirectory(Path.of("/tmp"), "gemshrink-bench-");
            dev = GemDevice.builder().name("swap")
                    .ramPages(TOTAL_PAGES + 1024)
                    .backing(PageBacking.Kind.valueOf(backing))
                    .swap(FileSwapStore.open(dir.resolve("swap"), TOTAL_PAGES + 1024))
                    .build();
            objs = new ShmemObject[OBJECTS];
            SplittableRandom rnd = new SplittableRandom(42);
            byte[] content = new byte[OBJECT_PAGES * PagePool.PAGE_SIZE];
            for (int i = 0; i < OBJECTS; i++) {
                objs[i] = dev.createObject((long) OBJECT_PAGES * PagePool.PAGE_SIZE);
                objs[i].getPagesSgt();
                rnd.nextBytes(content);
                objs[i].write(0, content);
            }
        }

        void evictAll() {
            long freed = dev.shrinker().scan(TOTAL_PAGES);
            if (freed != TOTAL_PAGES || dev.swap().usedPages() != TOTAL_PAGES) {
                throw new IllegalStateException("evicted " + freed + " pages, swap holds " + dev.swap().usedPages());
            }
        }

        void swapInAll() {
            for (ShmemObject o : objs) {
                o.pin().close(); // the pin brings the pages back; unpinning leaves them resident
            }
            if (dev.swap().usedPages() != 0 || dev.pool().usedPages() != TOTAL_PAGES) {
                throw new IllegalStateException("swap still holds " + dev.swap().usedPages() + " pages");
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            dev.close();
            deleteTree(dir);
        }
    }

    /** Before a timed swap-out every object is resident. */
    @State(Scope.Benchmark)
    public static class ResidentFirst {
        @Setup(Level.Invocation)
        public void setup(Store s) {
            if (s.dev.swap().usedPages() > 0) {
                s.swapInAll();
            }
        }
    }

    /** Before a timed swap-in every object is evicted. */
    @State(Scope.Benchmark)
    public static class EvictedFirst {
        @Setup(Level.Invocation)
        public void setup(Store s) {
            if (s.dev.swap().usedPages() == 0) {
                s.evictAll();
            }
        }
    }

    /** The raw FileChannel, over the same bytes: the frames of a heap pool filled like the store's objects. */
    @State(Scope.Benchmark)
    public static class Raw {
        Path dir;
        FileChannel ch;
        PagePool pool;
        int[][] objectFrames;
        ByteBuffer buf;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            dir = Files.createTempDirectory(Path.of("/tmp"), "gemshrink-bench-raw-");
            ch = FileChannel.open(dir.resolve("raw"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            pool = PagePool.ofPages(TOTAL_PAGES);
            objectFrames = new int[OBJECTS][];
            SplittableRandom rnd = new SplittableRandom(42);
            byte[] content = new byte[OBJECT_PAGES * PagePool.PAGE_SIZE];
            for (int i = 0; i < OBJECTS; i++) {
                objectFrames[i] = pool.allocate(OBJECT_PAGES, "raw");
                rnd.nextBytes(content);
                for (int p = 0; p < OBJECT_PAGES; p++) {
                    pool.frame(objectFrames[i][p]).put(0, content, p * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
                }
            }
            buf = ByteBuffer.allocateDirect(OBJECT_PAGES * PagePool.PAGE_SIZE);
            write(); // so that the file exists for rawRead
        }

        long write() throws IOException {
            long pos = 0;
            for (int[] frames : objectFrames) {
                buf.clear();
                for (int p = 0; p < OBJECT_PAGES; p++) {
                    buf.put(p * PagePool.PAGE_SIZE, pool.frame(frames[p]), 0, PagePool.PAGE_SIZE);
                }
                while (buf.hasRemaining()) {
                    pos += ch.write(buf, pos);
                }
            }
            return pos;
        }

        long read() throws IOException {
            long pos = 0;
            for (int[] frames : objectFrames) {
                buf.clear();
                while (buf.hasRemaining()) {
                    int n = ch.read(buf, pos);
                    if (n < 0) {
                        throw new IOException("short raw file at " + pos);
                    }
                    pos += n;
                }
                for (int p = 0; p < OBJECT_PAGES; p++) {
                    pool.frame(frames[p]).put(0, buf, p * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
                }
            }
            return pos;
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            ch.close();
            deleteTree(dir);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Benchmark
    public long swapOut(Store s, ResidentFirst r) {
        s.evictAll();
        return s.dev.swap().usedPages();
    }

    @Benchmark
    public long swapIn(Store s, EvictedFirst e) {
        s.swapInAll();
        return s.dev.pool().usedPages();
    }

    @Benchmark
    public long rawWrite(Raw r) throws IOException {
        return r.write();
    }

    @Benchmark
    public long rawRead(Raw r) throws IOException {
        return r.read();
    }
}
