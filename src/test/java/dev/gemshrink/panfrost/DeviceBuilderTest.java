package dev.gemshrink.panfrost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.DeviceBuilder;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.memory.PageBacking;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapSlots;
import dev.gemshrink.memory.SwapStore;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The settings both device builders share ({@link DeviceBuilder}): each setter refuses an impossible value with
 * EINVAL naming the parameter and keeps the value it had, and the settings reach the device either builder builds.
 */
class DeviceBuilderTest {

    /** Either builder, and what it builds: the device to close and its core device. */
    private interface Kind {
        DeviceBuilder<?> builder();

        AutoCloseable build(DeviceBuilder<?> b);

        GemDevice gemOf(AutoCloseable device);
    }

    static Stream<Named<Kind>> builders() {
        Kind gem = new Kind() {
            @Override
            public DeviceBuilder<?> builder() {
                return GemDevice.builder();
            }

            @Override
            public AutoCloseable build(DeviceBuilder<?> b) {
                return ((GemDevice.Builder) b).build();
            }

            @Override
            public GemDevice gemOf(AutoCloseable device) {
                return (GemDevice) device;
            }
        };
        Kind panfrost = new Kind() {
            @Override
            public DeviceBuilder<?> builder() {
                return PanfrostDevice.builder();
            }

            @Override
            public AutoCloseable build(DeviceBuilder<?> b) {
                return ((PanfrostDevice.Builder) b).build();
            }

            @Override
            public GemDevice gemOf(AutoCloseable device) {
                return ((PanfrostDevice) device).gem();
            }
        };
        return Stream.of(Named.of("GemDevice.Builder", gem), Named.of("PanfrostDevice.Builder", panfrost));
    }

    private static void assertInvalid(ThrowingCallable call, String parameter) {
        assertThatThrownBy(call).isInstanceOfSatisfying(GemException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EINVAL);
            assertThat(e.getMessage()).startsWith("invalid " + parameter + " ").doesNotContain("frames");
        });
    }

    /** Builds with {@code b}, checks the core device, and closes whatever was built. */
    private static void buildAndCheck(Kind kind, DeviceBuilder<?> b, Consumer<GemDevice> check) throws Exception {
        try (AutoCloseable device = kind.build(b)) {
            check.accept(kind.gemOf(device));
        }
    }

    @ParameterizedTest
    @MethodSource("builders")
    void impossibleRamBudgetsAreRefusedAtTheSetterNamingTheParameter(Kind kind) throws Exception {
        DeviceBuilder<?> b = kind.builder().ramPages(8);
        assertInvalid(() -> b.ramPages(0), "ramPages");
        assertInvalid(() -> b.ramPages(-1), "ramPages");
        assertInvalid(() -> b.ramPages(Integer.MIN_VALUE), "ramPages");
        assertInvalid(() -> b.ramBytes(0), "ramBytes");
        assertInvalid(() -> b.ramBytes(-PagePool.PAGE_SIZE), "ramBytes");
        assertInvalid(() -> b.ramBytes(((long) Integer.MAX_VALUE + 1) * PagePool.PAGE_SIZE), "ramBytes");
        assertInvalid(() -> b.ramBytes(Long.MAX_VALUE), "ramBytes");
        // The refused values left the budget as it was.
        buildAndCheck(kind, b, gem -> assertThat(gem.pool().totalPages()).isEqualTo(8));
    }

    @ParameterizedTest
    @MethodSource("builders")
    void ramBytesRoundsUpToWholePagesUpToTheLastIntFrame(Kind kind) throws Exception {
        DeviceBuilder<?> b = kind.builder().ramBytes(PagePool.PAGE_SIZE + 1L);
        buildAndCheck(kind, b, gem -> assertThat(gem.pool().totalPages()).isEqualTo(2));
        b.ramBytes(1);
        buildAndCheck(kind, b, gem -> assertThat(gem.pool().totalPages()).isEqualTo(1));
        // The largest budget an int frame number addresses is accepted by the setter (not built: 8 TiB).
        b.ramBytes((long) Integer.MAX_VALUE * PagePool.PAGE_SIZE);
    }

    @ParameterizedTest
    @MethodSource("builders")
    void aBudgetWhoseFrameTableCannotBeAllocatedFailsTheBuildWithEnomem(Kind kind) {
        // An int[] of Integer.MAX_VALUE entries exceeds the VM's array limit: the pool's first allocation fails.
        DeviceBuilder<?> b = kind.builder().ramPages(Integer.MAX_VALUE);
        assertThatThrownBy(() -> kind.build(b)).isInstanceOfSatisfying(GemException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.ENOMEM);
            assertThat(e.getMessage()).contains("ramPages " + Integer.MAX_VALUE);
        });
    }

    @ParameterizedTest
    @MethodSource("builders")
    void aMissingOrNegativeSwapAMissingNameOrBackingAreRefused(Kind kind) throws Exception {
        SwapStore swap = SwapStore.inMemory(4);
        DeviceBuilder<?> b = kind.builder().swap(swap).name("dev-a");
        assertInvalid(() -> b.swap(null), "swap");
        assertInvalid(() -> b.swap(new NegativeCapacityStore()), "swap");
        assertInvalid(() -> b.name(null), "name");
        assertInvalid(() -> b.name(""), "name");
        assertInvalid(() -> b.backing(null), "backing");
        buildAndCheck(kind, b.ramPages(4), gem -> {
            assertThat(gem.swap()).isSameAs(swap);
            assertThat(gem.shrinker().stats().name()).isEqualTo("dev-a");
        });
    }

    @ParameterizedTest
    @MethodSource("builders")
    void theSharedSettingsReachTheCoreDevice(Kind kind) throws Exception {
        DeviceBuilder<?> b = kind.builder().ramPages(16).swap(SwapStore.inMemory(32))
                .leakDetection(LeakDetection.PARANOID).name("settings").backing(PageBacking.Kind.DIRECT);
        buildAndCheck(kind, b, gem -> {
            int[] pfns = gem.pool().allocate(1, "probe");
            assertThat(gem.pool().frame(pfns[0]).isDirect()).as("a direct frame").isTrue();
            gem.pool().free(pfns);
            assertThat(gem.pool().totalPages()).isEqualTo(16);
            assertThat(gem.swap().capacityPages()).isEqualTo(32);
            assertThat(gem.leakDetection()).isEqualTo(LeakDetection.PARANOID);
            assertThat(gem.shrinker().stats().name()).isEqualTo("settings");
        });
        buildAndCheck(kind, kind.builder().ramPages(1), gem -> {
            int[] pfns = gem.pool().allocate(1, "probe");
            assertThat(gem.pool().frame(pfns[0]).isDirect()).as("heap frames by default").isFalse();
            gem.pool().free(pfns);
        });
    }

    @Test
    void eachBuilderKeepsItsOwnDefaultName() {
        try (GemDevice gem = GemDevice.builder().ramPages(1).build()) {
            assertThat(gem.shrinker().stats().name()).isEqualTo("gem");
        }
        try (PanfrostDevice dev = PanfrostDevice.builder().ramPages(1).build()) {
            assertThat(dev.gem().shrinker().stats().name()).isEqualTo("panfrost");
        }
    }

    /** A store reporting a negative capacity: only its capacity is ever asked for. */
    private static final class NegativeCapacityStore implements SwapStore {
        @Override
        public long capacityPages() {
            return -1;
        }

        @Override
        public long usedPages() {
            return 0;
        }

        @Override
        public SwapSlots store(ByteBuffer[] pages) {
            throw new AssertionError("a refused store is never used");
        }

        @Override
        public void load(SwapSlots slots, ByteBuffer[] into) {
            throw new AssertionError("a refused store is never used");
        }

        @Override
        public void release(SwapSlots slots) {
            throw new AssertionError("a refused store is never used");
        }
    }
}
