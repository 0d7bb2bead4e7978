package dev.gemshrink.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Every {@link SwapStoreTest} with direct pages and devices on direct frames, which a file store writes and reads in
 * place: the failure rules (all or nothing, CRC32, interrupts, closing) hold for either kind of page.
 */
class DirectFramesSwapStoreTest extends SwapStoreTest {

    @Override
    PageBacking.Kind frames() {
        return PageBacking.Kind.DIRECT;
    }

    /** A file store whose channel adds the buffer of every positional transfer to {@code transfers}. */
    private FileSwapStore recordingStore(long capacityPages, List<ByteBuffer> transfers) throws Exception {
        FaultyChannel ch = FaultyChannel.open(tempDir.resolve("swap"));
        ch.onTransfer = transfers::add;
        return new FileSwapStore(tempDir.resolve("swap"), ch, capacityPages);
    }

    @Test
    void directPagesAreWrittenAndReadInPlaceWithoutAnIoBuffer() throws Exception {
        List<ByteBuffer> transfers = new CopyOnWriteArrayList<>();
        try (FileSwapStore store = recordingStore(200, transfers)) {
            ByteBuffer[] pages = randomPages(new Random(81), 150); // more than two chunks of the copying path
            SwapSlots s = store.store(pages);
            assertThat(transfers).as("one transfer per page").hasSize(150);
            assertLoadsBack(store, s, pages);
            assertThat(transfers).hasSize(300);
            assertThat(transfers).as("each transfer moves one page of direct memory").allSatisfy(b -> {
                assertThat(b.isDirect()).isTrue();
                assertThat(b.capacity()).isEqualTo(PagePool.PAGE_SIZE);
            });
            assertThat(store.idleBufferCount()).as("no I/O buffer was taken, so nothing was copied").isZero();
            store.release(s);
        }
    }

    @Test
    void aStoreOfMixedPagesGoesThroughAnIoBufferAndALoadIntoDirectPagesDoesNot() throws Exception {
        List<ByteBuffer> transfers = new CopyOnWriteArrayList<>();
        try (FileSwapStore store = recordingStore(8, transfers)) {
            ByteBuffer[] pages = randomPages(new Random(82), 3);
            byte[] heap = new byte[PagePool.PAGE_SIZE];
            pages[1].get(0, heap);
            pages[1] = ByteBuffer.wrap(heap);
            SwapSlots s = store.store(pages);
            assertThat(transfers).as("one chunk through the store's buffer").hasSize(1);
            assertThat(transfers.get(0).capacity()).isEqualTo(FileSwapStore.CHUNK_PAGES * PagePool.PAGE_SIZE);
            assertThat(store.idleBufferCount()).isEqualTo(1);
            assertLoadsBack(store, s, pages); // into direct pages: in place
            assertThat(transfers).hasSize(4);
            assertThat(transfers.subList(1, 4)).allSatisfy(b -> assertThat(b.capacity()).isEqualTo(PagePool.PAGE_SIZE));
            store.release(s);
        }
    }
}
