package dev.gemshrink.core;

import static dev.gemshrink.testing.Invariants.assertClean;
import static dev.gemshrink.testing.Invariants.assertEmpty;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.reclaim.NoProgressLimit;
import dev.gemshrink.testing.InjectedError;
import dev.gemshrink.testing.ThrowingReclaimHook;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The core capabilities a transparent-reclaim driver builds on: a discarding reclaim (contents dropped, uses kept,
 * refilled with zeros by the next user, counted, checked), fail-fast population without reclaim, and a device
 * shrinker registered under a driver's name with its rules.
 */
class DiscardOnReclaimTest {
    /** An evictor that discards instead of evicting; the teardown is the test's. */
    private static Evictor discarding(Runnable teardown) {
        return new Evictor() {
            @Override
            public Outcome purge(ShmemObject obj, ReclaimPermit permit) {
                return Outcome.BUSY;
            }

            @Override
            public Outcome evict(ShmemObject obj, ReclaimPermit permit) {
                if (!obj.isEvictable()) {
                    return Outcome.BUSY;
                }
                permit.discard(teardown);
                return Outcome.DONE;
            }
        };
    }

    @Test
    void aDiscardDropsTheContentsKeepsTheUsesAndTheNextUserGetsZeros() {
        try (GemDevice dev = GemDevice.builder().ramPages(64).swap(SwapStore.inMemory(64)).build()) {
            ShmemObject o = dev.createObject("scratch", 4 * PagePool.PAGE_SIZE, discarding(null));
            o.getPagesSgt();
            byte[] data = new byte[4 * PagePool.PAGE_SIZE];
            Arrays.fill(data, (byte) 0x5a);
            o.write(0, data);
            assertThat(o.evict()).isEqualTo(4);
            assertThat(o.isDiscarded()).isTrue();
            assertThat(o.isEvicted()).isFalse();
            assertThat(o.isResident()).isFalse();
            assertThat(o.pagesUseCount()).as("the sg table's use stays").isEqualTo(1);
            assertThat(o.timesDiscarded()).isEqualTo(1);
            assertThat(o.timesReclaimed()).isEqualTo(1);
            assertThat(dev.swap().usedPages()).isZero();
            assertThat(dev.pool().usedPages()).isZero();
            assertThat(dev.placementOf(o)).isEqualTo(Placement.NONE);
            assertThat(o.inspect().discarded()).isTrue();
            assertClean(dev);
            assertThatThrownBy(o::evict).isInstanceOf(GemException.class)
                    .satisfies(e -> assertThat(((GemException) e).errno()).isEqualTo(Errno.EBUSY));

            byte[] back = new byte[data.length];
            Arrays.fill(back, (byte) 1);
            o.read(0, back);
            assertThat(back).isEqualTo(new byte[data.length]);
            assertThat(o.isDiscarded()).isFalse();
            assertThat(o.isResident()).as("the sg table's use keeps the refilled pages").isTrue();
            assertThat(o.timesDiscarded()).isEqualTo(1);
            assertClean(dev);
            assertThat(o.free().isEmpty()).isTrue();
            assertEmpty(dev);
        }
    }

    @Test
    void aFailingTeardownLeavesTheObjectIntactAndAFreeOfADiscardedObjectIsClean() {
        boolean[] fail = {true};
        try (GemDevice dev = GemDevice.builder().ramPages(64).swap(SwapStore.inMemory(64)).build()) {
            ShmemObject o = dev.createObject("scratch", 2 * PagePool.PAGE_SIZE, discarding(() -> {
                if (fail[0]) {
                    throw new InjectedError("teardown");
                }
            }));
            o.getPagesSgt();
            o.write(0, new byte[] {7});
            assertThatThrownBy(o::evict).isInstanceOf(InjectedError.class);
            assertThat(o.isDiscarded()).isFalse();
            assertThat(o.timesDiscarded()).isZero();
            byte[] one = new byte[1];
            o.read(0, one);
            assertThat(one[0]).isEqualTo((byte) 7);
            assertClean(dev);
            fail[0] = false;
            assertThat(o.evict()).isEqualTo(2);
            assertThat(o.free().isEmpty()).isTrue();
            assertEmpty(dev);
        }
    }

    @Test
    void populateNowaitNeverRunsReclaimAndFailsWithNothingAllocated() {
        try (GemDevice dev = GemDevice.builder().ramPages(8).build()) {
            ThrowingReclaimHook hook = ThrowingReclaimHook.error(() -> new InjectedError("reclaim ran"));
            PagePool.HookRegistration registration = dev.pool().addReclaimHook(hook);
            try {
                ShmemObject heap = dev.createObject("heap", 16 * PagePool.PAGE_SIZE);
                try (PagesRef use = heap.getPagesSparse(OwnerKind.PAGES_HEAP_CHUNKS)) {
                    assertThat(use.isLive()).isTrue();
                    assertThat(heap.populateNowait(0, 6).pages()).isEqualTo(6);
                    assertThatThrownBy(() -> heap.populateNowait(6, 4)).isInstanceOf(GemException.class)
                            .satisfies(e -> assertThat(((GemException) e).errno()).isEqualTo(Errno.ENOMEM))
                            .hasMessageContaining("no reclaim");
                    assertThat(hook.calls()).isZero();
                    assertThat(heap.residentPages()).isEqualTo(6);
                    assertThat(dev.pool().usedPages()).isEqualTo(6);
                    assertClean(dev);
                    // The allocation that may reclaim does ask the hook.
                    assertThatThrownBy(() -> heap.populate(6, 4)).isInstanceOf(InjectedError.class);
                    assertThat(hook.calls()).isEqualTo(1);
                    assertThat(heap.residentPages()).isEqualTo(6);
                }
                assertThat(heap.free().isEmpty()).isTrue();
                assertEmpty(dev);
            } finally {
                registration.close();
            }
        }
    }

    @Test
    void aDriverNamesTheDeviceShrinkerAndDecoratesIt() {
        try (GemDevice dev = new NamedShrinkerBuilder().name("card0").build()) {
            assertThat(dev.shrinker().shrinker().name()).isEqualTo("drm-test-gem");
            assertThat(dev.shrinker().shrinker()).isInstanceOf(NoProgressLimit.class);
            assertThat(dev.shrinkers().find("card0")).isEmpty();
        }
    }

    /** A driver's builder that names its shrinker and wraps it in a rule. */
    private static final class NamedShrinkerBuilder extends DeviceBuilder<NamedShrinkerBuilder> {
        NamedShrinkerBuilder() {
            super("test");
            shrinker("drm-test-gem", s -> new NoProgressLimit(s, 1));
        }

        GemDevice build() {
            return buildGemDevice();
        }
    }
}
