package dev.gemshrink.memory;

import dev.gemshrink.locking.LockClass;
import dev.gemshrink.locking.TrackedLock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32;

/**
 * Swap in a file the user names: a slot allocator over 4 KiB slots of the file, runs of consecutive slots written
 * and read with positional I/O in chunks of up to 256 KiB, and a CRC32 per page kept in memory and verified on
 * every load (a mismatch fails the load and keeps the swap copy). The file is created (it must not exist) when the
 * store opens and deleted when it closes.
 *
 * <p>Resources: the channel is the store's one file handle, shared by every thread. Pages that are direct buffers
 * (the frames of a {@link PageBacking#direct} pool) are written and read in place, one positional transfer per
 * page, with no copy. Any other call goes through direct buffers of 256 KiB taken from a small pool of the store's
 * own (at most {@link #MAX_IDLE_BUFFERS} kept idle), one transfer per chunk, so the JDK never copies a heap page
 * into a temporary direct buffer of the calling thread; no thread keeps a buffer of its own, and a closed store
 * holds no buffer and no file.
 *
 * <p>Interrupts: a {@link FileChannel} closes itself when a thread blocked in I/O on it is interrupted, which would
 * break every other thread's swap I/O. So a transfer clears the caller's interrupt status for its duration and
 * restores it afterwards (the interrupted thread still sees its interrupt, and only it does), and a transfer that
 * finds the channel closed by an interrupt (its own, arriving during the transfer, or another thread's) reopens the
 * file once per closing, under the I/O lock, and redoes its transfer: positional transfers are idempotent, and what
 * the closed channel wrote is in the file. Only {@link #close()} closes the store for good.
 *
 * <p>Failures: see {@link SwapStore}. The page checks and the store's own allocations come before the slots are
 * reserved; a failure after that frees the slots again. A failed load may have written into its target pages
 * (direct pages are read into in place); the swap copy and the receipt are kept.
 *
 * <p>Thread safety: safe for concurrent use. The slot lock (a leaf) guards the slot map and the used count; the I/O
 * lock guards the idle buffers, the closed flag and the replacement of the channel (no transfer runs under it).
 * Transfers run outside both locks, on disjoint file ranges.
 */
public final class FileSwapStore implements SwapStore {
    /** The largest run moved by one positional read or write, in pages. */
    static final int CHUNK_PAGES = 64;
    /** The most I/O buffers a store keeps between transfers; more concurrent transfers allocate and drop theirs. */
    static final int MAX_IDLE_BUFFERS = 4;
    /** How many times one transfer reopens a channel closed under it before it gives up. */
    static final int MAX_REOPENS = 16;

    private final Path path;
    private final long capacity;
    /** The lock class of every file swap store's slot lock (a leaf). */
    static final LockClass SLOT_LOCK = LockClass.named("FileSwapStore.slotLock");

    private final TrackedLock slotLock = new TrackedLock(SLOT_LOCK, "FileSwapStore@" + Integer.toHexString(System.identityHashCode(this)));
    private final BitSet slots = new BitSet(); // guarded by slotLock: set = in use
    private long used; // guarded by slotLock
    private final Object ioLock = new Object();
    private volatile FileChannel channel; // replaced under ioLock; volatile so transfers read it without the lock
    private boolean closed; // guarded by ioLock
    private final ArrayDeque<ByteBuffer> idleBuffers = new ArrayDeque<>(); // guarded by ioLock

    FileSwapStore(Path path, FileChannel channel, long capacityPages) {
        checkCapacity(capacityPages);
        this.path = path;
        this.channel = Objects.requireNonNull(channel, "channel");
        this.capacity = capacityPages;
    }

    private static void checkCapacity(long capacityPages) {
        if (capacityPages < 0 || capacityPages > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("capacity must be 0.." + Integer.MAX_VALUE + " pages: "
                    + capacityPages);
        }
    }

    /**
     * Opens a store on a new file {@code file}, holding at most {@code capacityPages} pages. The file must not exist:
     * the store deletes its file when it closes, so it only ever uses a file it created itself (created atomically,
     * so a file appearing at that path meanwhile is refused too).
     *
     * @param file          the swap file to create
     * @param capacityPages the capacity in pages
     * @return the store
     * @throws java.nio.file.FileAlreadyExistsException when something exists at {@code file} (it is left untouched)
     * @throws IOException              when the file cannot be created
     * @throws IllegalArgumentException when the capacity is negative or above {@link Integer#MAX_VALUE} pages (then
     *                                  the file is not touched)
     */
    public static FileSwapStore open(Path file, long capacityPages) throws IOException {
        checkCapacity(capacityPages);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            return new FileSwapStore(file, ch, capacityPages);
        } catch (Throwable t) {
            try {
                ch.close();
                Files.deleteIfExists(file);
            } catch (Throwable c) {
                t.addSuppressed(c);
            }
            throw t;
        }
    }

    /** A receipt: the slot runs holding the pages, in page order, and a CRC32 per page. */
    private final class Slots extends SwapSlots {
        final int[] runs; // start, length, start, length, ...
        final int[] crcs;

        Slots(int pages, int[] runs, int[] crcs) {
            super(FileSwapStore.this, pages);
            this.runs = runs;
            this.crcs = crcs;
        }

        FileSwapStore store() {
            return FileSwapStore.this;
        }
    }

    /**
     * Returns the file.
     *
     * @return the swap file's path
     */
    public Path path() {
        return path;
    }

    @Override
    public long capacityPages() {
        return capacity;
    }

    @Override
    public long usedPages() {
        slotLock.lock();
        try {
            return used;
        } finally {
            slotLock.unlock();
        }
    }

    @Override
    public SwapSlots store(ByteBuffer[] pages) throws IOException {
        SwapSlots.checkPages(pages);
        int n = pages.length;
        int[] crcs;
        try {
            crcs = new int[n];
        } catch (OutOfMemoryError e) {
            throw new IOException("no memory for the checksums of " + n + " pages", e);
        }
        boolean direct = allDirect(pages);
        ByteBuffer buf = takeBuffer(!direct);
        try {
            int[] runs = allocate(n);
            try {
                Slots s = new Slots(n, runs, crcs);
                forEachChunk(s, buf, (page, slot, count) -> {
                    for (int i = 0; i < count; i++) {
                        crcs[page + i] = crc(pages[page + i]);
                    }
                    if (direct) {
                        for (int i = 0; i < count; i++) {
                            transfer(pages[page + i].slice(0, PagePool.PAGE_SIZE),
                                    (slot + i) * PagePool.PAGE_SIZE, true);
                        }
                        return;
                    }
                    for (int i = 0; i < count; i++) {
                        buf.put(i * PagePool.PAGE_SIZE, pages[page + i], 0, PagePool.PAGE_SIZE);
                    }
                    buf.limit(count * PagePool.PAGE_SIZE);
                    transfer(buf, slot * PagePool.PAGE_SIZE, true);
                });
                return s;
            } catch (Throwable t) {
                free(runs);
                throw StoreFailure.asIOException("swap write of " + n + " pages to " + path + " failed", t);
            }
        } finally {
            giveBack(buf);
        }
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        Slots s = SwapSlots.own(this, slots, Slots.class);
        s.checkLoadTarget(into);
        boolean direct = allDirect(into);
        ByteBuffer buf = takeBuffer(!direct);
        try {
            forEachChunk(s, buf, (page, slot, count) -> {
                ByteBuffer[] read = new ByteBuffer[count];
                if (direct) {
                    for (int i = 0; i < count; i++) {
                        read[i] = into[page + i].slice(0, PagePool.PAGE_SIZE);
                        transfer(read[i], (slot + i) * PagePool.PAGE_SIZE, false);
                    }
                } else {
                    buf.limit(count * PagePool.PAGE_SIZE);
                    transfer(buf, slot * PagePool.PAGE_SIZE, false);
                    for (int i = 0; i < count; i++) {
                        read[i] = buf.slice(i * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
                    }
                }
                for (int i = 0; i < count; i++) {
                    int c = crc(read[i]);
                    if (c != s.crcs[page + i]) {
                        throw new IOException("swap page " + (page + i) + " in slot " + (slot + i) + " of " + path
                                + " failed its CRC32 check (stored " + Integer.toHexString(s.crcs[page + i])
                                + ", read " + Integer.toHexString(c) + ")");
                    }
                }
                if (!direct) {
                    for (int i = 0; i < count; i++) {
                        into[page + i].put(0, buf, i * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
                    }
                }
            });
        } catch (Throwable t) {
            throw StoreFailure.asIOException("swap read of " + s.pages() + " pages from " + path + " failed", t);
        } finally {
            giveBack(buf);
        }
    }

    /** Whether every page is a direct buffer, so the transfers can use the pages themselves. */
    private static boolean allDirect(ByteBuffer[] pages) {
        for (ByteBuffer p : pages) {
            if (!p.isDirect()) {
                return false;
            }
        }
        return true;
    }

    /** One chunk of a receipt: {@code count} pages from object page {@code page}, at file slot {@code slot}. */
    @FunctionalInterface
    private interface ChunkIo {
        void run(int page, long slot, int count) throws IOException;
    }

    /** Walks a receipt's slot runs in chunks of at most {@link #CHUNK_PAGES}, clearing {@code buf} (if any) first. */
    private static void forEachChunk(Slots s, ByteBuffer buf, ChunkIo io) throws IOException {
        int page = 0;
        for (int r = 0; r < s.runs.length; r += 2) {
            long slot = s.runs[r];
            int len = s.runs[r + 1];
            for (int done = 0; done < len; ) {
                int count = Math.min(CHUNK_PAGES, len - done);
                if (buf != null) {
                    buf.clear();
                }
                io.run(page, slot + done, count);
                done += count;
                page += count;
            }
        }
    }

    @Override
    public void release(SwapSlots slots) {
        Slots s = SwapSlots.own(this, slots, Slots.class);
        s.markReleased();
        free(s.runs);
    }

    /**
     * Closes the file, deletes it and drops the store's I/O buffers. Idempotent. Transfers still running fail with
     * an IOException (their store frees its slots; a load keeps its receipt).
     */
    @Override
    public void close() throws IOException {
        FileChannel ch;
        synchronized (ioLock) {
            closed = true;
            idleBuffers.clear();
            ch = channel; // final: no reopen happens once closed is set
        }
        try {
            ch.close();
        } finally {
            if (path != null) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** Returns the number of I/O buffers the store keeps between transfers (for tests). */
    int idleBufferCount() {
        synchronized (ioLock) {
            return idleBuffers.size();
        }
    }

    /**
     * Takes an idle I/O buffer, or allocates one, or returns null when none is {@code needed} (direct pages); fails
     * when the store is closed. The caller gives the buffer back with {@link #giveBack}.
     */
    private ByteBuffer takeBuffer(boolean needed) throws IOException {
        synchronized (ioLock) {
            if (closed) {
                throw closedStore(null);
            }
            if (!needed) {
                return null;
            }
            ByteBuffer b = idleBuffers.poll();
            if (b != null) {
                return b;
            }
        }
        try {
            return ByteBuffer.allocateDirect(CHUNK_PAGES * PagePool.PAGE_SIZE);
        } catch (OutOfMemoryError e) {
            throw new IOException("no direct memory for a swap I/O buffer of " + path, e);
        }
    }

    /** Keeps a buffer for the next transfer, unless the store is closed or keeps enough already; null is none. */
    private void giveBack(ByteBuffer b) {
        if (b == null) {
            return;
        }
        synchronized (ioLock) {
            if (!closed && idleBuffers.size() < MAX_IDLE_BUFFERS) {
                idleBuffers.push(b);
            }
        }
    }

    /**
     * Audits the receipts held against the slot map: each is a live receipt of this store whose runs cover its
     * pages (with a checksum each), no slot belongs to two receipts, every slot in use belongs to one (none leaked),
     * and together they hold the pages in use.
     */
    @Override
    public List<SwapFinding> audit(Map<SwapSlots, String> held) {
        List<SwapFinding> out = new ArrayList<>();
        SwapSlots.auditReceipts(this, held, true, out);
        BitSet covered = new BitSet();
        Map<Integer, String> slotOwner = new HashMap<>();
        for (Map.Entry<SwapSlots, String> e : held.entrySet()) {
            if (!(e.getKey() instanceof Slots s) || s.store() != this || s.isReleased()) {
                continue;
            }
            long n = 0;
            for (int r = 0; r < s.runs.length; r += 2) {
                n += s.runs[r + 1];
                for (int slot = s.runs[r]; slot < s.runs[r] + s.runs[r + 1]; slot++) {
                    if (covered.get(slot)) {
                        out.add(new SwapFinding(e.getValue(), "swap-slot-owned-once", "slot " + slot
                                + " also belongs to " + slotOwner.get(slot)));
                    } else {
                        covered.set(slot);
                        slotOwner.put(slot, e.getValue());
                    }
                }
            }
            if (n != s.pages() || s.crcs.length != s.pages()) {
                out.add(new SwapFinding(e.getValue(), "swap-slots-cover-pages", "receipt of " + s.pages()
                        + " pages holds " + n + " slots and " + s.crcs.length + " checksums"));
            }
        }
        BitSet leaked;
        synchronized (slotLock) {
            leaked = (BitSet) slots.clone();
        }
        BitSet freeButHeld = (BitSet) covered.clone();
        freeButHeld.andNot(leaked);
        for (int slot = freeButHeld.nextSetBit(0); slot >= 0; slot = freeButHeld.nextSetBit(slot + 1)) {
            out.add(new SwapFinding(slotOwner.get(slot), "swap-slot-in-use", "holds slot " + slot
                    + ", which the store counts as free"));
        }
        leaked.andNot(covered);
        if (!leaked.isEmpty()) {
            out.add(new SwapFinding("swap", "swap-slot-leaked", leaked.cardinality()
                    + " slots in use belong to no receipt held: " + leaked));
        }
        return out;
    }

    /** Reserves {@code n} free slots, as runs (start, length, ...), or none. */
    private int[] allocate(int n) throws IOException {
        slotLock.lock();
        try {
            if (used + n > capacity) {
                throw new IOException("swap full: " + used + " of " + capacity + " pages used, " + n + " needed");
            }
            int[] runs = new int[16];
            int count = 0;
            try {
                int need = n;
                int from = 0;
                while (need > 0) {
                    int start = slots.nextClearBit(from);
                    int end = slots.nextSetBit(start);
                    int len = (int) Math.min(need, (end < 0 ? capacity : end) - start);
                    if (count == runs.length) {
                        runs = Arrays.copyOf(runs, count * 2);
                    }
                    slots.set(start, start + len);
                    runs[count++] = start;
                    runs[count++] = len;
                    need -= len;
                    from = start + len;
                }
                int[] result = Arrays.copyOf(runs, count);
                used += n;
                return result;
            } catch (Throwable t) {
                for (int r = 0; r < count; r += 2) {
                    slots.clear(runs[r], runs[r] + runs[r + 1]); // clearing never allocates
                }
                throw t;
            }
        } finally {
            slotLock.unlock();
        }
    }

    private void free(int[] runs) {
        slotLock.lock();
        try {
            for (int r = 0; r < runs.length; r += 2) {
                slots.clear(runs[r], runs[r] + runs[r + 1]);
                used -= runs[r + 1];
            }
        } finally {
            slotLock.unlock();
        }
    }

    /**
     * Moves {@code buf}'s remaining bytes to or from the file at {@code position}, with the caller's interrupt
     * status cleared for the transfer and restored after it. A closed channel (an interrupt closed it during this
     * or another thread's transfer) is reopened and the whole transfer redone, unless the store itself was closed.
     */
    private void transfer(ByteBuffer buf, long position, boolean write) throws IOException {
        boolean interrupted = Thread.interrupted();
        int start = buf.position();
        try {
            for (int reopens = 0; ; reopens++) {
                FileChannel ch = channel;
                try {
                    buf.position(start);
                    long pos = position;
                    while (buf.hasRemaining()) {
                        int n = write ? ch.write(buf, pos) : ch.read(buf, pos);
                        if (n < 0) {
                            throw new IOException("swap file " + path + " ends at " + pos
                                    + ", before the stored pages");
                        }
                        pos += n;
                    }
                    return;
                } catch (ClosedChannelException e) {
                    // Also ClosedByInterruptException (an interrupt during this transfer: clear it again, keep
                    // it for the caller) and AsynchronousCloseException (another thread's interrupt).
                    interrupted |= Thread.interrupted();
                    if (reopens == MAX_REOPENS) {
                        throw e;
                    }
                    reopen(ch, e);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Replaces {@code closedChannel} by a new channel on the file, unless another thread did or the store closed. */
    private void reopen(FileChannel closedChannel, ClosedChannelException cause) throws IOException {
        synchronized (ioLock) {
            if (closed) {
                throw closedStore(cause);
            }
            if (path == null) {
                throw cause;
            }
            if (channel == closedChannel) {
                channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            }
        }
    }

    private IOException closedStore(Throwable cause) {
        return new IOException("swap file " + path + " is closed", cause);
    }

    private static int crc(ByteBuffer page) {
        CRC32 c = new CRC32();
        c.update(page.slice(0, PagePool.PAGE_SIZE));
        return (int) c.getValue();
    }

    @Override
    public String toString() {
        return "FileSwapStore[" + path + ", used=" + usedPages() + ", capacity=" + capacity + "]";
    }
}
