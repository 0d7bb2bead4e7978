package dev.gemshrink.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32;

/**
 * Swap in a file the user names: a slot allocator over 4 KiB slots of the file, runs of consecutive slots written
 * and read with positional I/O in chunks of up to 256 KiB, and a CRC32 per page kept in memory and verified on
 * every load (a mismatch fails the load and keeps the swap copy). The file is created (or truncated) when the store
 * opens and deleted when it closes.
 *
 * <p>Thread safety: safe for concurrent use; the slot allocator has its own lock (a leaf), and I/O runs outside it
 * on disjoint file ranges.
 */
public final class FileSwapStore implements SwapStore {
    /** The largest run moved by one positional read or write, in pages. */
    static final int CHUNK_PAGES = 64;

    private final Path path;
    // Replaced (under slotLock) when an interrupt closed it: FileChannel closes itself when a thread doing I/O on
    // it is interrupted, and reclaim runs on arbitrary threads. Volatile so I/O threads see the replacement.
    private volatile FileChannel channel;
    private final long capacity;
    private final Object slotLock = new Object();
    private final BitSet slots = new BitSet(); // guarded by slotLock: set = in use
    private long used; // guarded by slotLock
    private final ThreadLocal<ByteBuffer> chunk =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(CHUNK_PAGES * PagePool.PAGE_SIZE));

    FileSwapStore(Path path, FileChannel channel, long capacityPages) {
        if (capacityPages < 0 || capacityPages > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("capacity must be 0.." + Integer.MAX_VALUE + " pages: "
                    + capacityPages);
        }
        this.path = path;
        this.channel = Objects.requireNonNull(channel, "channel");
        this.capacity = capacityPages;
    }

    /**
     * Opens a store on {@code file} (created or truncated), holding at most {@code capacityPages} pages.
     *
     * @param file          the swap file
     * @param capacityPages the capacity in pages
     * @return the store
     * @throws IOException when the file cannot be opened
     */
    public static FileSwapStore open(Path file, long capacityPages) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        return new FileSwapStore(file, ch, capacityPages);
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
        synchronized (slotLock) {
            return used;
        }
    }

    @Override
    public SwapSlots store(ByteBuffer[] pages) throws IOException {
        SwapSlots.checkPages(pages);
        int[] crcs = new int[pages.length]; // allocated before the slots are reserved
        Slots s = new Slots(pages.length, allocate(pages.length), crcs);
        try {
            forEachChunk(s, (page, slot, n, buf) -> {
                for (int i = 0; i < n; i++) {
                    buf.put(i * PagePool.PAGE_SIZE, pages[page + i], 0, PagePool.PAGE_SIZE);
                    s.crcs[page + i] = crc(pages[page + i]);
                }
                buf.limit(n * PagePool.PAGE_SIZE);
                writeFully(buf, slot * PagePool.PAGE_SIZE);
            });
            return s;
        } catch (Throwable t) {
            free(s.runs);
            throw StoreFailure.asIOException("swap write of " + pages.length + " pages to " + path + " failed", t);
        }
    }

    @Override
    public void load(SwapSlots slots, ByteBuffer[] into) throws IOException {
        Slots s = SwapSlots.own(this, slots, Slots.class);
        s.checkLoadTarget(into);
        forEachChunk(s, (page, slot, n, buf) -> {
            buf.limit(n * PagePool.PAGE_SIZE);
            readFully(buf, slot * PagePool.PAGE_SIZE);
            for (int i = 0; i < n; i++) {
                int c = crc(buf.slice(i * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE));
                if (c != s.crcs[page + i]) {
                    throw new IOException("swap page " + (page + i) + " in slot " + (slot + i) + " of " + path
                            + " failed its CRC32 check (stored " + Integer.toHexString(s.crcs[page + i])
                            + ", read " + Integer.toHexString(c) + ")");
                }
            }
            for (int i = 0; i < n; i++) {
                into[page + i].put(0, buf, i * PagePool.PAGE_SIZE, PagePool.PAGE_SIZE);
            }
        });
    }

    /** One chunk of a receipt: {@code n} pages from object page {@code page}, at file slot {@code slot}. */
    @FunctionalInterface
    private interface ChunkIo {
        void run(int page, long slot, int n, ByteBuffer buf) throws IOException;
    }

    /** Walks a receipt's slot runs in chunks of at most {@link #CHUNK_PAGES}, with this thread's cleared buffer. */
    private void forEachChunk(Slots s, ChunkIo io) throws IOException {
        int page = 0;
        for (int r = 0; r < s.runs.length; r += 2) {
            long slot = s.runs[r];
            int len = s.runs[r + 1];
            for (int done = 0; done < len; ) {
                int n = Math.min(CHUNK_PAGES, len - done);
                ByteBuffer buf = chunk.get();
                buf.clear();
                io.run(page, slot + done, n, buf);
                done += n;
                page += n;
            }
        }
    }

    @Override
    public void release(SwapSlots slots) {
        Slots s = SwapSlots.own(this, slots, Slots.class);
        s.markReleased();
        free(s.runs);
    }

    /** Closes the file and deletes it. */
    @Override
    public void close() throws IOException {
        channel.close();
        if (path != null) {
            Files.deleteIfExists(path);
        }
    }

    private int[] allocate(int n) throws IOException {
        synchronized (slotLock) {
            if (used + n > capacity) {
                throw new IOException("swap full: " + used + " of " + capacity + " pages used, " + n + " needed");
            }
            List<Integer> runs = new ArrayList<>();
            int need = n;
            int from = 0;
            while (need > 0) {
                int start = slots.nextClearBit(from);
                int end = slots.nextSetBit(start);
                int len = (int) Math.min(need, (end < 0 ? capacity : end) - start);
                slots.set(start, start + len);
                runs.add(start);
                runs.add(len);
                need -= len;
                from = start + len;
            }
            used += n;
            return runs.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    private void free(int[] runs) {
        synchronized (slotLock) {
            for (int r = 0; r < runs.length; r += 2) {
                slots.clear(runs[r], runs[r] + runs[r + 1]);
                used -= runs[r + 1];
            }
        }
    }

    private void writeFully(ByteBuffer buf, long position) throws IOException {
        io(buf, position, true);
    }

    private void readFully(ByteBuffer buf, long position) throws IOException {
        io(buf, position, false);
    }

    /**
     * Positional I/O that an interrupt cannot break for good: the caller's interrupt status is cleared for the
     * I/O and restored after, and a channel closed by an interrupt that arrived during the I/O is reopened once
     * and the transfer retried (positional transfers are idempotent).
     */
    private void io(ByteBuffer buf, long position, boolean write) throws IOException {
        boolean interrupted = Thread.interrupted();
        int start = buf.position();
        try {
            for (int attempt = 0; ; attempt++) {
                FileChannel ch = channel;
                try {
                    long pos = position + (buf.position() - start);
                    while (buf.hasRemaining()) {
                        int n = write ? ch.write(buf, pos) : ch.read(buf, pos);
                        if (n < 0) {
                            throw new IOException("swap file " + path + " ends at " + pos
                                    + ", before the stored pages");
                        }
                        pos += n;
                    }
                    return;
                } catch (java.nio.channels.ClosedByInterruptException e) {
                    interrupted |= Thread.interrupted();
                    if (attempt > 0 || path == null) {
                        throw e;
                    }
                    reopen(ch);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void reopen(FileChannel closed) throws IOException {
        synchronized (slotLock) {
            if (channel == closed) {
                channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            }
        }
    }

    private static int crc(ByteBuffer page) {
        CRC32 c = new CRC32();
        c.update(page.duplicate().clear());
        return (int) c.getValue();
    }

    @Override
    public String toString() {
        return "FileSwapStore[" + path + ", used=" + usedPages() + ", capacity=" + capacity + "]";
    }
}
