package dev.gemshrink.checking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.FileSwapStore;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapFinding;
import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.Invariants;
import dev.gemshrink.testing.FaultySwapStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The checker audits swap per object: each object's receipt is live and covers its pages, no slot is owned twice,
 * none is leaked, and a mismatch of totals names the objects holding swap. Each case swaps a receipt behind the
 * objects' back so that the device totals still agree, which the totals alone never noticed.
 */
class SwapAuditTest {
    @TempDir
    static Path dir;

    private static int files;

    static Stream<Function<Long, SwapStore>> stores() {
        return Stream.of(SwapStore::inMemory, SwapAuditTest::file, pages -> new FaultySwapStore(file(pages)));
    }

    private static SwapStore file(long pages) {
        try {
            return FileSwapStore.open(dir.resolve("swap" + files++), pages);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static ByteBuffer[] pages(int n) {
        ByteBuffer[] b = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            b[i] = ByteBuffer.allocate(PagePool.PAGE_SIZE);
        }
        return b;
    }

    private static GemDevice device(SwapStore swap) {
        return GemDevice.builder().ramPages(64).swap(swap).build();
    }

    private static ShmemObject evicted(GemDevice dev, String name, int pages) {
        ShmemObject o = dev.createObject(name, (long) pages * PagePool.PAGE_SIZE);
        o.getPagesSgt();
        o.evict();
        return o;
    }

    @ParameterizedTest
    @MethodSource("stores")
    void evictedObjectsPassTheAudit(Function<Long, SwapStore> store) throws IOException {
        try (GemDevice dev = device(store.apply(64L))) {
            evicted(dev, "a", 3);
            evicted(dev, "b", 5);
            Invariants.assertClean(dev);
            assertThat(dev.swap().usedPages()).isEqualTo(8);
        }
    }

    @ParameterizedTest
    @MethodSource("stores")
    void aReceiptReleasedBehindTheObjectsBackIsNamedAndTheSlotsTakenAgainAreLeaked(Function<Long, SwapStore> store)
            throws IOException {
        try (GemDevice dev = device(store.apply(64L))) {
            ShmemObject a = evicted(dev, "a", 4);
            SwapSlots held = a.inspect().swapSlots();
            dev.swap().release(held);
            SwapSlots stray = dev.swap().store(pages(4)); // same totals: 4 pages in use, 4 held by objects

            List<Violation> v = InvariantChecker.check(dev);

            assertThat(v).extracting(Violation::subject, Violation::rule)
                    .contains(tuple("a", "swap-receipt-live"));
            assertThat(v).extracting(Violation::rule).contains("swap-used-equals-held");
            dev.swap().release(stray);
        }
    }

    @ParameterizedTest
    @MethodSource("stores")
    void aStoredCopyNoObjectHoldsIsReportedWithTheObjectsThatDoHoldSwap(Function<Long, SwapStore> store)
            throws IOException {
        try (GemDevice dev = device(store.apply(64L))) {
            evicted(dev, "a", 2);
            SwapSlots stray = dev.swap().store(pages(3));

            List<Violation> v = InvariantChecker.check(dev);

            assertThat(v).anySatisfy(x -> {
                assertThat(x.rule()).isEqualTo("swap-used-equals-swapped");
                assertThat(x.detail()).contains("5 pages in use", "objects hold 2", "a=2");
            });
            dev.swap().release(stray);
            Invariants.assertClean(dev);
        }
    }

    @Test
    void theFileStoreNamesEverySlotNoReceiptHolds() throws IOException {
        try (FileSwapStore swap = FileSwapStore.open(dir.resolve("leak"), 16)) {
            SwapSlots kept = swap.store(pages(2));
            swap.store(pages(3));
            Map<SwapSlots, String> held = new IdentityHashMap<>();
            held.put(kept, "kept");

            List<SwapFinding> f = swap.audit(held);

            assertThat(f).extracting(SwapFinding::rule).contains("swap-used-equals-held", "swap-slot-leaked");
            assertThat(f).filteredOn(x -> x.rule().equals("swap-slot-leaked"))
                    .singleElement().satisfies(x -> assertThat(x.detail()).startsWith("3 slots in use"));
        }
    }

    @Test
    void aReceiptOfAnotherStoreIsNamed() throws IOException {
        SwapStore one = SwapStore.inMemory(8);
        SwapStore other = SwapStore.inMemory(8);
        SwapSlots foreign = other.store(pages(1));
        Map<SwapSlots, String> held = new IdentityHashMap<>();
        held.put(foreign, "stranger");

        assertThat(one.audit(held)).extracting(SwapFinding::holder, SwapFinding::rule)
                .contains(tuple("stranger", "swap-receipt-issued-here"));
    }
}
