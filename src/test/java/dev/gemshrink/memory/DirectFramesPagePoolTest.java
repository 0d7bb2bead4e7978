package dev.gemshrink.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Every {@link PagePoolTest} with direct (off-heap) frames: the pool's rules hold for either backing. */
class DirectFramesPagePoolTest extends PagePoolTest {

    @Override
    PageBacking.Kind frames() {
        return PageBacking.Kind.DIRECT;
    }

    @Test
    void threadsTouchingASlabFirstAllGetTheSameFrames() throws Exception {
        int n = DirectPageBacking.SLAB_FRAMES + 3; // one whole slab and a partial one
        PageBacking backing = PageBacking.direct(n);
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<ByteBuffer[]>> seen = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t; // each thread starts at another frame, so they race for the same slabs
                seen.add(pool.submit(() -> {
                    start.await();
                    ByteBuffer[] got = new ByteBuffer[n];
                    for (int i = 0; i < n; i++) {
                        int pfn = (first * 131 + i) % n;
                        got[pfn] = backing.frame(pfn);
                    }
                    return got;
                }));
            }
            start.countDown();
            ByteBuffer[] expected = seen.get(0).get();
            for (Future<ByteBuffer[]> f : seen) {
                ByteBuffer[] got = f.get();
                for (int i = 0; i < n; i++) {
                    assertThat(got[i]).as("frame %d", i).isSameAs(expected[i]);
                }
            }
            for (int i = 0; i < n; i++) {
                assertThat(expected[i].isDirect()).isTrue();
                assertThat(expected[i].capacity()).isEqualTo(PagePool.PAGE_SIZE);
            }
            // Frames of one slab are disjoint: a write to one shows in no other.
            expected[0].put(PagePool.PAGE_SIZE - 1, (byte) 7);
            expected[n - 1].put(0, (byte) 9);
            assertThat(expected[1].get(0)).isZero();
            assertThat(expected[n - 2].get(PagePool.PAGE_SIZE - 1)).isZero();
        } finally {
            pool.shutdownNow();
        }
    }
}
