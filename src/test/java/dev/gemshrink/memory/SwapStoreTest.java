package dev.gemshrink.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ObjectState;
import dev.gemshrink.core.Placement;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.testing.FaultySwapStore;
import dev.gemshrink.testing.Invariants;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The swap stores on their own (real random bytes, both implementations) and through {@link ShmemObject} eviction
 * and swap-in, with injected write errors, read errors and on-disk corruption.
 */
class SwapStoreTest {
    private static final int PAGE = PagePool.PAGE_SIZE;

    @TempDir
    Path tempDir;

    /** The two stores. */
    enum Kind {
        MEMORY, FILE
    }

    private SwapStore open(Kind kind, long capacityPages) throws IOException {
        return kind == Kind.MEMORY ? SwapStore.inMemory(capacityPages)
                : FileSwapStore.open(tempDir.resolve("swap"), capacityPages);
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Where the pages the tests store and load live, and the frames of their devices: heap buffers here, direct
     * buffers in {@link DirectFramesSwapStoreTest}, which runs every test of this class again.
     *
     * @return the kind of page buffers and device backing
     */
    PageBacking.Kind frames() {
        return PageBacking.Kind.HEAP;
    }

    /** A page buffer of the kind {@link #frames()} names. */
    private ByteBuffer newPage() {
        return frames() == PageBacking.Kind.DIRECT ? ByteBuffer.allocateDirect(PAGE) : ByteBuffer.allocate(PAGE);
    }

    ByteBuffer[] randomPages(Random rnd, int n) {
        ByteBuffer[] out = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[PAGE];
            rnd.nextBytes(b);
            out[i] = newPage().put(0, b);
        }
        return out;
    }

    private ByteBuffer[] blankPages(int n) {
        ByteBuffer[] out = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            out[i] = newPage();
        }
        return out;
    }

    /** The 4 KiB of a page. */
    private static byte[] bytes(ByteBuffer page) {
        byte[] b = new byte[PAGE];
        page.get(0, b);
        return b;
    }

    /** Loads a receipt into fresh buffers and compares every page with the originals. */
    void assertLoadsBack(SwapStore store, SwapSlots slots, ByteBuffer[] expected) throws IOException {
        ByteBuffer[] got = blankPages(expected.length);
        store.load(slots, got);
        for (int i = 0; i < expected.length; i++) {
            assertThat(bytes(got[i])).as("page %d of %d", i, expected.length).isEqualTo(bytes(expected[i]));
        }
    }

    private static byte[] randomBytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static byte[] readAll(ShmemObject o) {
        byte[] b = new byte[(int) o.size()];
        o.read(0, b);
        return b;
    }

    // ------------------------------------------------------------------ the stores on their own

    @ParameterizedTest
    @EnumSource(Kind.class)
    void manyObjectsRoundTripInAnyOrder(Kind kind) throws IOException {
        Random rnd = new Random(1);
        try (SwapStore store = open(kind, 1000)) {
            Map<SwapSlots, ByteBuffer[]> live = new IdentityHashMap<>();
            long used = 0;
            for (int i = 0; i < 40; i++) {
                ByteBuffer[] pages = randomPages(rnd, 1 + rnd.nextInt(20));
                SwapSlots s = store.store(pages);
                assertThat(s.pages()).isEqualTo(pages.length);
                used += pages.length;
                assertThat(store.usedPages()).isEqualTo(used);
                live.put(s, pages);
            }
            List<SwapSlots> order = new ArrayList<>(live.keySet());
            Collections.shuffle(order, rnd);
            for (SwapSlots s : order) {
                assertLoadsBack(store, s, live.get(s));
            }
            // A load keeps the receipt valid: loading again gives the same bytes.
            for (SwapSlots s : order) {
                assertLoadsBack(store, s, live.get(s));
            }
            for (SwapSlots s : order) {
                store.release(s);
                used -= s.pages();
                assertThat(store.usedPages()).isEqualTo(used);
            }
            assertThat(store.usedPages()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void fragmentedSlotsRoundTrip(Kind kind) throws IOException {
        Random rnd = new Random(2);
        int capacity = 200;
        try (SwapStore store = open(kind, capacity)) {
            Map<SwapSlots, ByteBuffer[]> live = new IdentityHashMap<>();
            // 20 objects of 5 pages fill slots 0..99; releasing every other one leaves ten 5-slot holes.
            List<SwapSlots> first = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                ByteBuffer[] p = randomPages(rnd, 5);
                SwapSlots s = store.store(p);
                live.put(s, p);
                first.add(s);
            }
            for (int i = 0; i < 20; i += 2) {
                store.release(first.get(i));
                live.remove(first.get(i));
            }
            assertThat(store.usedPages()).isEqualTo(50);
            // 40 pages: spread over eight of the holes when the store allocates slots (the file store does).
            ByteBuffer[] big = randomPages(rnd, 40);
            SwapSlots bigSlots = store.store(big);
            live.put(bigSlots, big);
            assertLoadsBack(store, bigSlots, big);
            for (Map.Entry<SwapSlots, ByteBuffer[]> e : live.entrySet()) {
                assertLoadsBack(store, e.getKey(), e.getValue());
            }

            // Then interleave stores and releases at random, checking one live receipt after each step.
            List<SwapSlots> keys = new ArrayList<>(live.keySet());
            for (int step = 0; step < 400; step++) {
                boolean doStore = keys.isEmpty() || rnd.nextInt(100) < 55;
                if (doStore) {
                    int n = 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 90 : 12);
                    ByteBuffer[] p = randomPages(rnd, n);
                    if (!store.hasRoom(n)) {
                        long before = store.usedPages();
                        assertThatThrownBy(() -> store.store(p)).isInstanceOf(IOException.class)
                                .hasMessageContaining("swap full");
                        assertThat(store.usedPages()).isEqualTo(before);
                        continue;
                    }
                    SwapSlots s = store.store(p);
                    live.put(s, p);
                    keys.add(s);
                } else {
                    SwapSlots s = keys.remove(rnd.nextInt(keys.size()));
                    assertLoadsBack(store, s, live.remove(s));
                    store.release(s);
                }
                if (!keys.isEmpty()) {
                    SwapSlots s = keys.get(rnd.nextInt(keys.size()));
                    assertLoadsBack(store, s, live.get(s));
                }
                assertThat(store.usedPages())
                        .isEqualTo(live.keySet().stream().mapToLong(SwapSlots::pages).sum());
            }
            for (Map.Entry<SwapSlots, ByteBuffer[]> e : live.entrySet()) {
                assertLoadsBack(store, e.getKey(), e.getValue());
                store.release(e.getKey());
            }
            assertThat(store.usedPages()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void objectLargerThanOneChunkRoundTripsAcrossSplitRuns(Kind kind) throws IOException {
        Random rnd = new Random(3);
        try (SwapStore store = open(kind, 400)) {
            ByteBuffer[] a = randomPages(rnd, 10);
            ByteBuffer[] b = randomPages(rnd, 70);
            ByteBuffer[] c = randomPages(rnd, 10);
            SwapSlots sa = store.store(a);
            SwapSlots sb = store.store(b);
            SwapSlots sc = store.store(c);
            store.release(sb);
            // 150 pages: a 70-slot run (more than one 64-page chunk) in b's hole, then 80 slots after c.
            ByteBuffer[] d = randomPages(rnd, 150);
            assertThat(d.length).isGreaterThan(FileSwapStore.CHUNK_PAGES * 2);
            SwapSlots sd = store.store(d);
            assertLoadsBack(store, sd, d);
            assertLoadsBack(store, sa, a);
            assertLoadsBack(store, sc, c);
            // And one object of 200 contiguous pages (four chunks) in a store that is otherwise empty.
            store.release(sa);
            store.release(sc);
            store.release(sd);
            ByteBuffer[] e = randomPages(rnd, 200);
            SwapSlots se = store.store(e);
            assertLoadsBack(store, se, e);
            store.release(se);
            assertThat(store.usedPages()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void fullStoreThrowsAndHoldsNothing(Kind kind) throws IOException {
        Random rnd = new Random(4);
        try (SwapStore store = open(kind, 10)) {
            ByteBuffer[] a = randomPages(rnd, 8);
            SwapSlots sa = store.store(a);
            assertThat(store.hasRoom(2)).isTrue();
            assertThat(store.hasRoom(3)).isFalse();
            assertThatThrownBy(() -> store.store(randomPages(rnd, 3))).isInstanceOf(IOException.class)
                    .hasMessageContaining("swap full");
            assertThat(store.usedPages()).isEqualTo(8);
            SwapSlots sb = store.store(randomPages(rnd, 2));
            assertThat(store.usedPages()).isEqualTo(10);
            assertThatThrownBy(() -> store.store(randomPages(rnd, 1))).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> store.store(randomPages(rnd, 11))).isInstanceOf(IOException.class);
            assertThat(store.usedPages()).isEqualTo(10);
            assertLoadsBack(store, sa, a);
            store.release(sa);
            store.release(sb);
            assertThat(store.usedPages()).isZero();
            // All capacity is usable again after the failures.
            ByteBuffer[] all = randomPages(rnd, 10);
            SwapSlots s = store.store(all);
            assertLoadsBack(store, s, all);
            store.release(s);
        }
        try (SwapStore none = SwapStore.none()) {
            assertThat(none.capacityPages()).isZero();
            assertThatThrownBy(() -> none.store(randomPages(rnd, 1))).isInstanceOf(IOException.class);
            assertThat(none.usedPages()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void badPageBuffersAreRefusedBeforeAnythingIsHeld(Kind kind) throws IOException {
        Random rnd = new Random(40);
        try (SwapStore store = open(kind, 20)) {
            SwapSlots keep = store.store(randomPages(rnd, 2));
            ByteBuffer[] shortPage = randomPages(rnd, 9);
            shortPage[6] = ByteBuffer.allocate(100);
            ByteBuffer[] nullPage = randomPages(rnd, 3);
            nullPage[1] = null;
            for (ByteBuffer[] bad : List.of(shortPage, nullPage)) {
                assertThatThrownBy(() -> store.store(bad)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("page");
                assertThat(store.usedPages()).as("a refused store holds nothing").isEqualTo(2);
            }
            ByteBuffer[] readOnly = blankPages(2);
            readOnly[1] = readOnly[1].asReadOnlyBuffer();
            assertThatThrownBy(() -> store.load(keep, readOnly)).isInstanceOf(IllegalArgumentException.class);
            ByteBuffer[] tooShort = {ByteBuffer.allocate(PAGE), ByteBuffer.allocate(PAGE - 1)};
            assertThatThrownBy(() -> store.load(keep, tooShort)).isInstanceOf(IllegalArgumentException.class);
            // All the capacity is still there.
            ByteBuffer[] rest = randomPages(rnd, 18);
            SwapSlots all = store.store(rest);
            assertLoadsBack(store, all, rest);
            store.release(all);
            store.release(keep);
            assertThat(store.usedPages()).isZero();
        }
    }

    /** Hands out the memory store's arrays; one shared array per size, so a huge object costs little memory. */
    private static final class SharedArrays implements IntFunction<byte[]> {
        final Map<Integer, byte[]> bySize = new java.util.HashMap<>();
        final List<Integer> sizes = new ArrayList<>();
        /** The call (0-based) that throws {@link #failure}; -1: none. */
        int failAt = -1;
        Throwable failure;

        @Override
        public byte[] apply(int size) {
            if (sizes.size() == failAt) {
                sizes.add(size);
                if (failure instanceof Error) {
                    throw (Error) failure;
                }
                throw (RuntimeException) failure;
            }
            sizes.add(size);
            return bySize.computeIfAbsent(size, byte[]::new);
        }
    }

    /** 2 GiB and one page: more bytes than an int counts. */
    private static final int HUGE_PAGES = (int) ((1L << 31) / PAGE) + 1;

    private static ByteBuffer[] samePage(int n, ByteBuffer page) {
        ByteBuffer[] out = new ByteBuffer[n];
        java.util.Arrays.fill(out, page);
        return out;
    }

    @Test
    void memoryStoreHoldsAnObjectOfTwoGibibytesAndMore() throws IOException {
        SharedArrays arrays = new SharedArrays();
        MemorySwapStore store = new MemorySwapStore(HUGE_PAGES + 10L, arrays);
        ByteBuffer page = randomPages(new Random(41), 1)[0];
        SwapSlots s = store.store(samePage(HUGE_PAGES, page));
        assertThat(s.pages()).isEqualTo(HUGE_PAGES);
        assertThat(store.usedPages()).isEqualTo(HUGE_PAGES);
        assertThat(arrays.sizes).as("every array a valid size").allSatisfy(n -> assertThat(n).isPositive());
        assertThat(arrays.sizes.stream().mapToLong(Integer::longValue).sum()).as("bytes held")
                .isEqualTo((long) HUGE_PAGES * PAGE);
        ByteBuffer into = newPage();
        store.load(s, samePage(HUGE_PAGES, into));
        assertThat(bytes(into)).isEqualTo(bytes(page));
        store.release(s);
        assertThat(store.usedPages()).isZero();
    }

    @Test
    void memoryStoreOutOfMemoryFailsWithIOExceptionAndHoldsNothing() throws IOException {
        SharedArrays arrays = new SharedArrays();
        MemorySwapStore store = new MemorySwapStore(HUGE_PAGES, arrays);
        ByteBuffer page = randomPages(new Random(42), 1)[0];
        OutOfMemoryError oom = new OutOfMemoryError("Java heap space (injected)");
        arrays.failAt = 2;
        arrays.failure = oom;
        assertThatThrownBy(() -> store.store(samePage(HUGE_PAGES, page))).isInstanceOf(IOException.class)
                .hasCause(oom);
        assertThat(store.usedPages()).as("the reservation is rolled back").isZero();
        // Any other Error is rethrown as it is, after the rollback.
        StackOverflowError soe = new StackOverflowError("injected");
        arrays.sizes.clear();
        arrays.failAt = 0;
        arrays.failure = soe;
        assertThatThrownBy(() -> store.store(samePage(3, page))).isSameAs(soe);
        assertThat(store.usedPages()).isZero();
        arrays.failAt = -1;
        SwapSlots s = store.store(samePage(HUGE_PAGES, page));
        assertThat(store.usedPages()).as("the whole capacity is usable").isEqualTo(HUGE_PAGES);
        store.release(s);
    }

    @Test
    void evictionIntoAStoreThatRunsOutOfMemoryLeavesTheObjectResidentAndSwapEmpty() {
        SharedArrays arrays = new SharedArrays();
        arrays.failAt = 0;
        arrays.failure = new OutOfMemoryError("Java heap space (injected)");
        GemDevice dev = device(new MemorySwapStore(100, arrays), 64);
        try {
            ShmemObject o = dev.createObject("victim", 8L * PAGE);
            byte[] data = fill(o, new Random(43));
            GemException e = catchThrowableOfType(GemException.class, o::evict);
            assertThat(e).isNotNull();
            assertThat(e.errno()).isEqualTo(Errno.ENOMEM);
            assertThat(o.isResident()).isTrue();
            assertThat(dev.swap().usedPages()).isZero();
            for (int scan = 0; scan < 3; scan++) {
                arrays.sizes.clear(); // fail again
                dev.shrinker().scan(100);
                assertThat(dev.swap().usedPages()).as("swap after scan %d", scan).isZero();
                Invariants.assertClean(dev);
            }
            arrays.failAt = -1;
            assertThat(o.evict()).isEqualTo(8);
            assertThat(readAll(o)).isEqualTo(data);
            assertThat(o.free().isEmpty()).isTrue();
            Invariants.assertEmpty(dev);
        } finally {
            dev.close();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void doubleReleaseAndForeignReceiptsAreRejected(Kind kind) throws IOException {
        Random rnd = new Random(5);
        Path otherFile = tempDir.resolve("other-swap");
        try (SwapStore store = open(kind, 32);
                SwapStore sameKind = kind == Kind.MEMORY ? SwapStore.inMemory(32) : FileSwapStore.open(otherFile, 32);
                SwapStore otherKind = kind == Kind.MEMORY ? FileSwapStore.open(otherFile.resolveSibling("x"), 32)
                        : SwapStore.inMemory(32)) {
            ByteBuffer[] a = randomPages(rnd, 3);
            ByteBuffer[] keep = randomPages(rnd, 2);
            SwapSlots sa = store.store(a);
            SwapSlots sk = store.store(keep);
            store.release(sa);
            assertThat(store.usedPages()).isEqualTo(2);
            assertThatThrownBy(() -> store.release(sa)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> store.load(sa, blankPages(3))).isInstanceOf(IllegalArgumentException.class);
            assertThat(store.usedPages()).as("a failed release frees nothing").isEqualTo(2);

            SwapSlots foreign1 = sameKind.store(randomPages(rnd, 2));
            SwapSlots foreign2 = otherKind.store(randomPages(rnd, 2));
            SwapSlots alien = new SwapSlots(null, 2) { };
            for (SwapSlots f : List.of(foreign1, foreign2, alien)) {
                assertThatThrownBy(() -> store.release(f)).isInstanceOf(IllegalArgumentException.class);
                assertThatThrownBy(() -> store.load(f, blankPages(2))).isInstanceOf(IllegalArgumentException.class);
            }
            assertThat(store.usedPages()).isEqualTo(2);
            assertThat(sameKind.usedPages()).isEqualTo(2);
            assertThat(otherKind.usedPages()).isEqualTo(2);
            assertLoadsBack(store, sk, keep);
            sameKind.release(foreign1);
            otherKind.release(foreign2);
            store.release(sk);
            assertThat(store.usedPages()).isZero();
        }
    }

    @Test
    void fileStoreRejectsALoadOfTheWrongLength() throws IOException {
        try (SwapStore store = open(Kind.FILE, 8)) {
            SwapSlots s = store.store(randomPages(new Random(6), 3));
            assertThatThrownBy(() -> store.load(s, blankPages(2))).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> store.load(s, blankPages(4))).isInstanceOf(IllegalArgumentException.class);
            store.release(s);
        }
    }

    @Test
    void anExistingFileIsRefusedAndLeftUntouched() throws IOException {
        Path file = tempDir.resolve("swap");
        byte[] bytes = new byte[3 * PAGE + 5];
        Arrays.fill(bytes, (byte) 0x42);
        Files.write(file, bytes);
        assertThatThrownBy(() -> FileSwapStore.open(file, 16))
                .isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
        assertThat(Files.readAllBytes(file)).as("neither truncated nor deleted").isEqualTo(bytes);
    }

    @Test
    void fileIsCreatedOnOpenAndDeletedOnClose() throws IOException {
        Path file = tempDir.resolve("swap");
        FileSwapStore store = FileSwapStore.open(file, 16);
        assertThat(store.path()).isEqualTo(file);
        assertThat(file).exists();
        assertThat(Files.size(file)).as("new").isZero();
        ByteBuffer[] p = randomPages(new Random(7), 5);
        SwapSlots s = store.store(p);
        assertThat(Files.size(file)).isEqualTo(5L * PAGE);
        assertLoadsBack(store, s, p);
        store.close();
        assertThat(file).doesNotExist();
    }

    // ------------------------------------------------------------------ faults below the file store

    /**
     * A FileChannel that forwards to a real one, and can fail writes (after a countdown of successful ones) and
     * reads, and cut every transfer short to exercise the stores' loops.
     */
    static final class FaultyChannel extends FileChannel {
        private final FileChannel d;
        /** Writes that still succeed before every further one fails; -1: never fail. */
        final AtomicInteger writesBeforeFailure = new AtomicInteger(-1);
        volatile boolean failReads;
        /** When positive, at most this many bytes move per call (short reads and writes). */
        volatile int maxBytesPerCall;
        /** When set, the first positional read (write) to arrive waits in its gate before it reaches the channel. */
        volatile Gate readGate;
        volatile Gate writeGate;
        /** When set, sees the buffer of every positional read and write before it reaches the channel. */
        volatile java.util.function.Consumer<ByteBuffer> onTransfer;

        /**
         * Holds the first call that passes it until {@link #release} is counted down; the call then goes on to the
         * real channel with the thread's interrupt status as it was when the wait ended (an interrupt that arrived
         * during the wait stays pending, so the real channel sees it).
         */
        static final class Gate {
            final CountDownLatch entered = new CountDownLatch(1);
            final CountDownLatch release = new CountDownLatch(1);
            private final AtomicBoolean taken = new AtomicBoolean();

            void pass() {
                if (!taken.compareAndSet(false, true)) {
                    return;
                }
                entered.countDown();
                boolean interrupted = false;
                while (true) {
                    try {
                        release.await();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        FaultyChannel(FileChannel d) {
            this.d = d;
        }

        private void seen(ByteBuffer b) {
            java.util.function.Consumer<ByteBuffer> c = onTransfer;
            if (c != null) {
                c.accept(b);
            }
        }

        static FaultyChannel open(Path file) throws IOException {
            return new FaultyChannel(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING));
        }

        private void maybeFailWrite() throws IOException {
            int n;
            do {
                n = writesBeforeFailure.get();
                if (n < 0) {
                    return;
                }
                if (n == 0) {
                    throw new IOException("injected write error (EIO)");
                }
            } while (!writesBeforeFailure.compareAndSet(n, n - 1));
        }

        private ByteBuffer cut(ByteBuffer b) {
            int max = maxBytesPerCall;
            if (max > 0 && b.remaining() > max) {
                return b.slice().limit(max);
            }
            return b;
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            Gate g = writeGate;
            if (g != null) {
                g.pass();
            }
            seen(src);
            maybeFailWrite();
            ByteBuffer part = cut(src);
            int n = d.write(part, position);
            if (part != src) {
                src.position(src.position() + n);
            }
            return n;
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            Gate g = readGate;
            if (g != null) {
                g.pass();
            }
            seen(dst);
            if (failReads) {
                throw new IOException("injected read error (EIO)");
            }
            ByteBuffer part = cut(dst);
            int n = d.read(part, position);
            if (part != dst && n > 0) {
                dst.position(dst.position() + n);
            }
            return n;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (failReads) {
                throw new IOException("injected read error (EIO)");
            }
            return d.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            if (failReads) {
                throw new IOException("injected read error (EIO)");
            }
            return d.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            maybeFailWrite();
            return d.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            maybeFailWrite();
            return d.write(srcs, offset, length);
        }

        @Override
        public long position() throws IOException {
            return d.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            d.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return d.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            d.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            d.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return d.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            return d.transferFrom(src, position, count);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return d.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return d.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return d.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            d.close();
        }
    }

    @Test
    void shortReadsAndWritesStillRoundTrip() throws IOException {
        Path file = tempDir.resolve("swap");
        FaultyChannel ch = FaultyChannel.open(file);
        ch.maxBytesPerCall = 1000; // not a divisor of 4096: every page straddles calls
        try (FileSwapStore store = new FileSwapStore(file, ch, 300)) {
            Random rnd = new Random(8);
            ByteBuffer[] a = randomPages(rnd, 3);
            ByteBuffer[] b = randomPages(rnd, 130);
            SwapSlots sa = store.store(a);
            SwapSlots sb = store.store(b);
            assertLoadsBack(store, sb, b);
            assertLoadsBack(store, sa, a);
            store.release(sa);
            store.release(sb);
        }
        assertThat(file).doesNotExist();
    }

    @Test
    void writeErrorInTheMiddleOfAnObjectHoldsNothing() throws IOException {
        Path file = tempDir.resolve("swap");
        FaultyChannel ch = FaultyChannel.open(file);
        try (FileSwapStore store = new FileSwapStore(file, ch, 300)) {
            Random rnd = new Random(9);
            ByteBuffer[] a = randomPages(rnd, 3);
            SwapSlots sa = store.store(a);
            // 150 pages are three chunk writes; the second one fails.
            ch.writesBeforeFailure.set(1);
            ByteBuffer[] big = randomPages(rnd, 150);
            assertThatThrownBy(() -> store.store(big)).isInstanceOf(IOException.class)
                    .hasMessageContaining("injected write error");
            assertThat(store.usedPages()).as("a failed store holds nothing").isEqualTo(3);
            assertLoadsBack(store, sa, a);
            // The slots of the failed store are free again: after disarming, the whole capacity is usable.
            ch.writesBeforeFailure.set(-1);
            ByteBuffer[] rest = randomPages(rnd, 297);
            SwapSlots sr = store.store(rest);
            assertLoadsBack(store, sr, rest);
            assertLoadsBack(store, sa, a);
            store.release(sr);
            store.release(sa);
            assertThat(store.usedPages()).isZero();
        }
    }

    @Test
    void readErrorFailsTheLoadAndKeepsTheReceipt() throws IOException {
        Path file = tempDir.resolve("swap");
        FaultyChannel ch = FaultyChannel.open(file);
        try (FileSwapStore store = new FileSwapStore(file, ch, 100)) {
            ByteBuffer[] a = randomPages(new Random(10), 70);
            SwapSlots sa = store.store(a);
            ch.failReads = true;
            assertThatThrownBy(() -> store.load(sa, blankPages(70))).isInstanceOf(IOException.class)
                    .hasMessageContaining("injected read error");
            assertThat(store.usedPages()).isEqualTo(70);
            ch.failReads = false;
            assertLoadsBack(store, sa, a);
            store.release(sa);
        }
    }

    @Test
    void corruptedSwapFileFailsItsCrcCheckAndKeepsTheReceipt() throws IOException {
        Path file = tempDir.resolve("swap");
        try (FileSwapStore store = FileSwapStore.open(file, 100)) {
            ByteBuffer[] a = randomPages(new Random(11), 5);
            SwapSlots sa = store.store(a);
            long at = 3L * PAGE + 123; // page 3 of the only object: slot 3
            byte original;
            try (FileChannel raw = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer one = ByteBuffer.allocate(1);
                raw.read(one, at);
                original = one.get(0);
                raw.write(ByteBuffer.wrap(new byte[] {(byte) ~original}), at);
                raw.force(true);
            }
            assertThatThrownBy(() -> store.load(sa, blankPages(5))).isInstanceOf(IOException.class)
                    .hasMessageContaining("CRC32").hasMessageContaining("page 3");
            assertThat(store.usedPages()).isEqualTo(5);
            try (FileChannel raw = FileChannel.open(file, StandardOpenOption.WRITE)) {
                raw.write(ByteBuffer.wrap(new byte[] {original}), at);
            }
            assertLoadsBack(store, sa, a);
            store.release(sa);
        }
    }

    // ------------------------------------------------------------------ interrupts and the shared channel

    /** A thread running a body; {@code done} completes with its result and the thread's final interrupt status. */
    private record Running<T>(Thread thread, CompletableFuture<Map.Entry<T, Boolean>> done) {
        static <T> Running<T> start(String name, Callable<T> body) {
            CompletableFuture<Map.Entry<T, Boolean>> done = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    T result = body.call();
                    done.complete(Map.entry(result, Thread.currentThread().isInterrupted()));
                } catch (Throwable e) {
                    done.completeExceptionally(e);
                }
            }, name);
            t.setDaemon(true);
            t.start();
            return new Running<>(t, done);
        }

        Map.Entry<T, Boolean> get() throws Exception {
            return done.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void anInterruptDuringOneThreadsIoBreaksNoOtherThreadsIo() throws Exception {
        Path file = tempDir.resolve("swap");
        FaultyChannel ch = FaultyChannel.open(file);
        try (FileSwapStore store = new FileSwapStore(file, ch, 100)) {
            Random rnd = new Random(50);
            ByteBuffer[] x = randomPages(rnd, 5);
            SwapSlots sx = store.store(x);
            FaultyChannel.Gate readGate = new FaultyChannel.Gate();
            FaultyChannel.Gate writeGate = new FaultyChannel.Gate();
            ch.readGate = readGate;
            ch.writeGate = writeGate;

            // B swaps x in and is held inside its read of the shared channel.
            var b = Running.start("B", () -> {
                assertLoadsBack(store, sx, x);
                return true;
            });
            assertThat(readGate.entered.await(10, TimeUnit.SECONDS)).as("B reading").isTrue();
            // A evicts y, is held inside its write, and is interrupted there: its write closes the channel.
            ByteBuffer[] y = randomPages(rnd, 3);
            var a = Running.start("A", () -> store.store(y));
            assertThat(writeGate.entered.await(10, TimeUnit.SECONDS)).as("A writing").isTrue();
            a.thread().interrupt();
            writeGate.release.countDown();
            Map.Entry<SwapSlots, Boolean> aResult = a.get();
            assertThat(aResult.getValue()).as("A keeps its interrupt").isTrue();
            assertThat(ch.isOpen() && isRealChannelOpen(ch)).as("the interrupt closed the channel A used").isFalse();

            // B's read now reaches the channel the interrupt closed: B must not see A's interrupt.
            readGate.release.countDown();
            Map.Entry<Boolean, Boolean> bResult = b.get();
            assertThat(bResult.getValue()).as("B was not interrupted").isFalse();

            // Later I/O of any thread works, and both objects read back.
            assertLoadsBack(store, aResult.getKey(), y);
            assertLoadsBack(store, sx, x);
            store.release(aResult.getKey());
            store.release(sx);
            assertThat(store.usedPages()).isZero();
        }
        assertThat(file).doesNotExist();
    }

    private static boolean isRealChannelOpen(FaultyChannel ch) {
        try {
            ch.size();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aThreadInterruptedBeforeItsIoKeepsItsStatusAndBreaksNothing(Kind kind) throws Exception {
        Random rnd = new Random(51);
        try (SwapStore store = open(kind, 100)) {
            ByteBuffer[] x = randomPages(rnd, 70);
            var a = Running.start("A", () -> {
                Thread.currentThread().interrupt();
                SwapSlots s = store.store(x);
                assertLoadsBack(store, s, x);
                return s;
            });
            Map.Entry<SwapSlots, Boolean> result = a.get();
            assertThat(result.getValue()).as("A keeps its interrupt").isTrue();
            // Another thread's I/O works afterwards.
            ByteBuffer[] y = randomPages(rnd, 10);
            SwapSlots sy = store.store(y);
            assertLoadsBack(store, sy, y);
            assertLoadsBack(store, result.getKey(), x);
            store.release(sy);
            store.release(result.getKey());
        }
    }

    @Test
    void openingWithABadCapacityTouchesNoFile() {
        Path file = tempDir.resolve("swap");
        for (long bad : new long[] {-1, Integer.MAX_VALUE + 1L}) {
            assertThatThrownBy(() -> FileSwapStore.open(file, bad)).isInstanceOf(IllegalArgumentException.class);
            assertThat(file).as("no file created (and no channel left open) for capacity %d", bad).doesNotExist();
        }
    }

    @Test
    void aClosedFileStoreRefusesIoAndDoesNotRecreateItsFile() throws IOException {
        Path file = tempDir.resolve("swap");
        FileSwapStore store = FileSwapStore.open(file, 16);
        SwapSlots s = store.store(randomPages(new Random(52), 2));
        store.close();
        store.close(); // idempotent
        assertThatThrownBy(() -> store.store(randomPages(new Random(53), 1))).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> store.load(s, blankPages(2))).isInstanceOf(IOException.class);
        assertThat(store.usedPages()).as("the failed store holds nothing").isEqualTo(2);
        assertThat(file).doesNotExist();
    }

    // ------------------------------------------------------------------ I/O buffers

    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(p -> p.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }

    /** Runs the GC until {@code done} holds or ten seconds pass. */
    private static boolean gcUntil(java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            System.gc();
            Thread.sleep(10); // lets the cleaner thread free the direct memory of unreachable buffers
        }
        return true;
    }

    @Test
    void aFileStoreKeepsFewIoBuffersAndNoneOnceClosed() throws Exception {
        assumeTrue(frames() == PageBacking.Kind.HEAP, "direct pages take no I/O buffer (DirectFramesSwapStoreTest)");
        Random rnd = new Random(55);
        FileSwapStore store = FileSwapStore.open(tempDir.resolve("swap"), 400);
        assertThat(store.idleBufferCount()).isZero();
        ByteBuffer[] p = randomPages(rnd, 150);
        SwapSlots s = store.store(p);
        assertLoadsBack(store, s, p);
        assertThat(store.idleBufferCount()).as("one buffer, reused for every chunk and call").isEqualTo(1);
        // Concurrent transfers each take a buffer: B is held inside its read while the main thread stores.
        FaultyChannel ch = FaultyChannel.open(tempDir.resolve("swap2"));
        try (FileSwapStore gated = new FileSwapStore(tempDir.resolve("swap2"), ch, 400)) {
            SwapSlots g = gated.store(p);
            FaultyChannel.Gate gate = new FaultyChannel.Gate();
            ch.readGate = gate;
            var b = Running.start("B", () -> {
                assertLoadsBack(gated, g, p);
                return true;
            });
            assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(gated.idleBufferCount()).as("B holds the one buffer").isZero();
            SwapSlots g2 = gated.store(randomPages(rnd, 2));
            assertThat(gated.idleBufferCount()).isEqualTo(1);
            gate.release.countDown();
            b.get();
            assertThat(gated.idleBufferCount()).isEqualTo(2);
            gated.release(g2);
            gated.release(g);
        }
        store.release(s);
        store.close();
        assertThat(store.idleBufferCount()).as("a closed store holds no buffer").isZero();
    }

    @Test
    void closedFileStoresKeepNoIoBuffersReachable() throws Exception {
        Random rnd = new Random(54);
        long chunkBytes = (long) FileSwapStore.CHUNK_PAGES * PAGE;
        long[] baseline = {directBytes()};
        int[] rounds = {0};
        gcUntil(() -> {
            baseline[0] = Math.min(baseline[0], directBytes());
            return ++rounds[0] > 3; // a few collections: buffers of earlier tests that are already unreachable go
        });
        int stores = 32;
        for (int i = 0; i < stores; i++) {
            try (FileSwapStore store = FileSwapStore.open(tempDir.resolve("swap" + i), 8)) {
                ByteBuffer[] p = randomPages(rnd, 2);
                SwapSlots s = store.store(p);
                assertLoadsBack(store, s, p);
                store.release(s);
            }
        }
        long before = baseline[0];
        assertThat(gcUntil(() -> directBytes() - before < 2 * chunkBytes))
                .as("direct memory after %d stores were closed: %d bytes above the baseline (one buffer: %d)",
                        stores, directBytes() - before, chunkBytes)
                .isTrue();
    }

    // ------------------------------------------------------------------ through ShmemObject

    /** A swap store for a device, with a way to make its writes and reads fail. */
    enum Rig {
        /** {@link FaultySwapStore} over the in-memory store. */
        MEMORY_DECORATED,
        /** {@link FaultySwapStore} over the file store. */
        FILE_DECORATED,
        /** The file store over a {@link FaultyChannel}: the failure happens in the real store's I/O. */
        FILE_CHANNEL
    }

    /** A device's swap plus its fault switches. */
    private static final class Faults {
        final SwapStore store;
        final FaultySwapStore decorator;
        final FaultyChannel channel;
        final Path file;

        Faults(SwapStore store, FaultySwapStore decorator, FaultyChannel channel, Path file) {
            this.store = store;
            this.decorator = decorator;
            this.channel = channel;
            this.file = file;
        }

        void failWrites(boolean fail) {
            if (decorator != null) {
                decorator.failStores(fail);
            } else {
                // Let the first chunk through so that a multi-chunk object fails half-written.
                channel.writesBeforeFailure.set(fail ? 1 : -1);
            }
        }

        void failReads(boolean fail) {
            if (decorator != null) {
                decorator.failLoads(fail);
            } else {
                channel.failReads = fail;
            }
        }
    }

    private Faults faults(Rig rig, long capacity) throws IOException {
        Path file = tempDir.resolve("swap");
        switch (rig) {
            case MEMORY_DECORATED: {
                FaultySwapStore d = new FaultySwapStore(SwapStore.inMemory(capacity));
                return new Faults(d, d, null, null);
            }
            case FILE_DECORATED: {
                FaultySwapStore d = new FaultySwapStore(FileSwapStore.open(file, capacity));
                return new Faults(d, d, null, file);
            }
            default: {
                FaultyChannel ch = FaultyChannel.open(file);
                return new Faults(new FileSwapStore(file, ch, capacity), null, ch, file);
            }
        }
    }

    private GemDevice device(SwapStore swap, int ramPages) {
        return GemDevice.builder().name("swaptest").ramPages(ramPages).backing(frames()).swap(swap)
                .leakDetection(LeakDetection.SIMPLE).build();
    }

    /** Creates an object with its stored sg table (so it is evictable) and fills it with random bytes. */
    private static byte[] fill(ShmemObject o, Random rnd) {
        o.getPagesSgt();
        byte[] b = randomBytes(rnd, (int) o.size());
        o.write(0, b);
        return b;
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void evictThenSwapInIsByteIdentical(Kind kind) throws IOException {
        Random rnd = new Random(12);
        SwapStore swap = open(kind, 200);
        GemDevice dev = device(swap, 128);
        try {
            List<ShmemObject> objs = List.of(dev.createObject(PAGE), dev.createObject(7L * PAGE),
                    dev.createObject(80L * PAGE), dev.createObject(5L * PAGE + 1));
            List<byte[]> data = new ArrayList<>();
            for (ShmemObject o : objs) {
                data.add(fill(o, rnd));
            }
            int total = objs.stream().mapToInt(ShmemObject::pageCount).sum();
            assertThat(dev.pool().usedPages()).isEqualTo(total);
            for (ShmemObject o : objs) {
                assertThat(o.evict()).isEqualTo(o.pageCount());
                assertThat(o.isEvicted()).isTrue();
                assertThat(o.isResident()).isFalse();
                assertThat(o.pagesUseCount()).as("eviction keeps the use").isEqualTo(1);
                Invariants.assertClean(dev);
            }
            assertThat(dev.pool().usedPages()).isZero();
            assertThat(swap.usedPages()).isEqualTo(total);
            if (kind == Kind.FILE) {
                assertThat(Files.size(tempDir.resolve("swap"))).isGreaterThanOrEqualTo((long) total * PAGE);
            }
            // Swap in in a different order, through reads (which map the object for the CPU).
            for (int i = objs.size() - 1; i >= 0; i--) {
                ShmemObject o = objs.get(i);
                assertThat(readAll(o)).isEqualTo(data.get(i));
                assertThat(o.isEvicted()).isFalse();
                assertThat(o.isResident()).isTrue();
                Invariants.assertClean(dev);
            }
            assertThat(swap.usedPages()).isZero();
            assertThat(dev.pool().usedPages()).isEqualTo(total);
            // A second round: evict again, swap in through a pin, write through the mapping, evict, read.
            for (int i = 0; i < objs.size(); i++) {
                ShmemObject o = objs.get(i);
                o.evict();
                try (var pin = o.pin(); var map = o.vmap()) {
                    assertThat(pin.isLive()).isTrue();
                    assertThat(o.isResident()).as("swapped in by the pin").isTrue();
                    byte[] got = new byte[(int) o.size()];
                    map.read(0, got, 0, got.length);
                    assertThat(got).isEqualTo(data.get(i));
                    byte[] patch = randomBytes(rnd, 100);
                    map.write(o.size() - 100, patch, 0, 100);
                    System.arraycopy(patch, 0, data.get(i), data.get(i).length - 100, 100);
                }
                o.evict();
                assertThat(readAll(o)).isEqualTo(data.get(i));
            }
            Invariants.assertClean(dev);
            for (ShmemObject o : objs) {
                assertThat(o.free().isEmpty()).isTrue();
            }
            Invariants.assertEmpty(dev);
        } finally {
            dev.close();
        }
        if (kind == Kind.FILE) {
            assertThat(tempDir.resolve("swap")).as("device close deletes the swap file").doesNotExist();
        }
    }

    /** Everything evict must leave untouched when it fails. */
    private record Snapshot(int pagesUse, int pinCount, int vmapCount, Madv madv, int resident, int swapped,
            boolean sgt, int[] pfns, Placement placement, long lruWeight, int poolUsed, long swapUsed) {
        static Snapshot of(ShmemObject o) {
            ObjectState s = o.inspect();
            GemDevice d = o.device();
            return new Snapshot(s.pagesUse(), s.pinCount(), s.vmapCount(), s.madv(), s.residentPages(),
                    s.swappedPages(), s.sgtStored(), s.pfns() == null ? null : s.pfns().clone(), s.placement(),
                    s.lruWeight(), d.pool().usedPages(), d.swap().usedPages());
        }

        void assertSameAs(Snapshot o) {
            assertThat(o.pfns).as("frames").isEqualTo(pfns);
            assertThat(new Snapshot(o.pagesUse, o.pinCount, o.vmapCount, o.madv, o.resident, o.swapped, o.sgt,
                    pfns, o.placement, o.lruWeight, o.poolUsed, o.swapUsed)).isEqualTo(this);
        }
    }

    @ParameterizedTest
    @EnumSource(Rig.class)
    void writeErrorDuringEvictLeavesTheObjectResidentAndIntact(Rig rig) throws IOException {
        Random rnd = new Random(13);
        Faults f = faults(rig, 300);
        GemDevice dev = device(f.store, 128);
        try {
            ShmemObject small = dev.createObject("small", 3L * PAGE);
            ShmemObject big = dev.createObject("big", 100L * PAGE); // two chunk writes in the file store
            byte[] smallData = fill(small, rnd);
            byte[] bigData = fill(big, rnd);
            small.evict(); // something already in swap, which the failures must not disturb
            Snapshot before = Snapshot.of(big);
            assertThat(before.placement()).isEqualTo(Placement.EVICTABLE);

            f.failWrites(true);
            GemException e = catchThrowableOfType(GemException.class, big::evict);
            assertThat(e).as("evict with a failing swap write").isNotNull();
            assertThat(e.errno()).isEqualTo(Errno.ENOMEM);
            assertThat(e).hasMessageContaining("swap write failed").hasCauseInstanceOf(IOException.class);
            Snapshot.of(big).assertSameAs(before);
            assertThat(big.isResident()).isTrue();
            assertThat(big.isEvicted()).isFalse();
            assertThat(f.store.usedPages()).isEqualTo(3);
            Invariants.assertClean(dev);

            // The shrinker treats the failure as BUSY: it frees nothing and the object stays where it was.
            f.failWrites(true); // re-arm (the channel's countdown may have been used)
            long evictedBefore = dev.shrinker().stats().evicted();
            assertThat(dev.shrinker().scan(200)).isZero();
            assertThat(dev.shrinker().stats().evicted()).isEqualTo(evictedBefore);
            Snapshot.of(big).assertSameAs(before);
            Invariants.assertClean(dev);
            assertThat(readAll(big)).isEqualTo(bigData);
            Snapshot.of(big).assertSameAs(before);

            // Once the store works again, eviction and swap-in work, byte-identical.
            f.failWrites(false);
            assertThat(big.evict()).isEqualTo(100);
            assertThat(f.store.usedPages()).isEqualTo(103);
            assertThat(readAll(big)).isEqualTo(bigData);
            assertThat(readAll(small)).isEqualTo(smallData);
            assertThat(f.store.usedPages()).isZero();
            Invariants.assertClean(dev);
            assertThat(small.free().isEmpty()).isTrue();
            assertThat(big.free().isEmpty()).isTrue();
            Invariants.assertEmpty(dev);
        } finally {
            dev.close();
        }
        if (f.file != null) {
            assertThat(f.file).doesNotExist();
        }
    }

    @ParameterizedTest
    @EnumSource(Rig.class)
    void readErrorDuringSwapInFailsWithEfaultAndKeepsTheSwapCopy(Rig rig) throws IOException {
        Random rnd = new Random(14);
        Faults f = faults(rig, 300);
        GemDevice dev = device(f.store, 128);
        try {
            ShmemObject o = dev.createObject("victim", 70L * PAGE);
            byte[] data = fill(o, rnd);
            o.evict();
            int poolUsed = dev.pool().usedPages();
            assertThat(f.store.usedPages()).isEqualTo(70);

            f.failReads(true);
            for (Runnable access : List.<Runnable>of(() -> readAll(o), () -> o.pin().close(),
                    () -> o.vmap().close(), o::getPagesSgt, () -> o.getPages().close(),
                    () -> o.write(0, new byte[] {1}))) {
                GemException e = catchThrowableOfType(GemException.class, access::run);
                assertThat(e).as("access to an object whose swap-in fails").isNotNull();
                assertThat(e.errno()).isEqualTo(Errno.EFAULT);
                assertThat(e).hasMessageContaining("swap-in of victim failed")
                        .hasMessageContaining("swap copy is kept").hasCauseInstanceOf(IOException.class);
                assertThat(o.isEvicted()).isTrue();
                assertThat(o.isResident()).isFalse();
                assertThat(o.pagesUseCount()).isEqualTo(1);
                assertThat(o.pinCount()).isZero();
                assertThat(o.vmapCount()).isZero();
                assertThat(f.store.usedPages()).as("swap copy kept").isEqualTo(70);
                assertThat(dev.pool().usedPages()).as("frames of the failed swap-in are freed").isEqualTo(poolUsed);
                assertThat(dev.placementOf(o)).isEqualTo(Placement.EVICTED);
                Invariants.assertClean(dev);
            }

            f.failReads(false);
            assertThat(readAll(o)).isEqualTo(data);
            assertThat(o.isEvicted()).isFalse();
            assertThat(f.store.usedPages()).isZero();
            Invariants.assertClean(dev);
            assertThat(o.free().isEmpty()).isTrue();
            Invariants.assertEmpty(dev);
        } finally {
            dev.close();
        }
    }

    @Test
    void corruptedSwapFileFailsTheAccessWithEfaultAndKeepsTheSwapCopy() throws IOException {
        Random rnd = new Random(15);
        Path file = tempDir.resolve("swap");
        GemDevice dev = device(FileSwapStore.open(file, 100), 64);
        try {
            ShmemObject o = dev.createObject("victim", 4L * PAGE);
            byte[] data = fill(o, rnd);
            o.evict();
            long at = 2L * PAGE + 7;
            byte original;
            try (FileChannel raw = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer one = ByteBuffer.allocate(1);
                raw.read(one, at);
                original = one.get(0);
                raw.write(ByteBuffer.wrap(new byte[] {(byte) (original ^ 0x40)}), at);
            }
            GemException e = catchThrowableOfType(GemException.class, () -> readAll(o));
            assertThat(e).isNotNull();
            assertThat(e.errno()).isEqualTo(Errno.EFAULT);
            assertThat(e).hasMessageContaining("swap-in of victim failed").hasMessageContaining("CRC32");
            assertThat(o.isEvicted()).isTrue();
            assertThat(dev.swap().usedPages()).isEqualTo(4);
            assertThat(dev.pool().usedPages()).isZero();
            Invariants.assertClean(dev);
            // Repair the file: the kept copy is read back byte-identical.
            try (FileChannel raw = FileChannel.open(file, StandardOpenOption.WRITE)) {
                raw.write(ByteBuffer.wrap(new byte[] {original}), at);
            }
            assertThat(readAll(o)).isEqualTo(data);
            assertThat(dev.swap().usedPages()).isZero();
            assertThat(o.free().isEmpty()).isTrue();
            Invariants.assertEmpty(dev);
        } finally {
            dev.close();
        }
        assertThat(file).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void purgingAnEvictedDontneedObjectFreesItsSwapSlots(Kind kind) throws IOException {
        Random rnd = new Random(16);
        SwapStore swap = open(kind, 100);
        GemDevice dev = device(swap, 128);
        try {
            ShmemObject keep = dev.createObject("keep", 6L * PAGE);
            ShmemObject o = dev.createObject("dropme", 9L * PAGE);
            byte[] keepData = fill(keep, rnd);
            fill(o, rnd);
            keep.evict();
            o.evict();
            assertThat(swap.usedPages()).isEqualTo(15);
            assertThat(o.madvise(Madv.DONTNEED)).isTrue();
            assertThat(o.isEvicted()).isTrue();
            assertThat(o.isPurgeable()).isTrue();
            Invariants.assertClean(dev);

            assertThat(o.purge()).as("no resident pages to free").isZero();
            assertThat(o.madv()).isEqualTo(Madv.PURGED);
            assertThat(o.isEvicted()).isFalse();
            assertThat(o.isResident()).isFalse();
            assertThat(o.swappedPages()).isZero();
            assertThat(swap.usedPages()).as("the purged object's slots are free").isEqualTo(6);
            assertThat(dev.placementOf(o)).isEqualTo(Placement.NONE);
            Invariants.assertClean(dev);

            GemException e = catchThrowableOfType(GemException.class, () -> readAll(o));
            assertThat(e).isNotNull();
            assertThat(e.errno()).isEqualTo(Errno.EFAULT);
            assertThat(o.madvise(Madv.WILLNEED)).as("retained").isFalse();
            assertThat(readAll(keep)).isEqualTo(keepData);
            // The freed slots are reusable: everything else fits.
            ShmemObject more = dev.createObject("more", 60L * PAGE);
            byte[] moreData = fill(more, rnd);
            more.evict();
            assertThat(swap.usedPages()).isEqualTo(60);
            assertThat(readAll(more)).isEqualTo(moreData);

            assertThat(o.free().isEmpty()).isTrue();
            assertThat(keep.free().isEmpty()).isTrue();
            assertThat(more.free().isEmpty()).isTrue();
            Invariants.assertEmpty(dev);
        } finally {
            dev.close();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void freeingAnEvictedObjectFreesItsSwapSlots(Kind kind) throws IOException {
        Random rnd = new Random(17);
        SwapStore swap = open(kind, 100);
        GemDevice dev = device(swap, 64);
        try {
            ShmemObject o = dev.createObject(20L * PAGE);
            fill(o, rnd);
            o.evict();
            assertThat(swap.usedPages()).isEqualTo(20);
            assertThat(o.free().isEmpty()).isTrue();
            Invariants.assertEmpty(dev);
        } finally {
            dev.close();
        }
    }
}
