package dev.gemshrink.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import org.junit.jupiter.api.Test;

/** The fdinfo value type: the kernel's size printer, its text form and its counting rules. */
class FdinfoTest {
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    @Test
    void sizesArePrintedInTheLargestUnitUpToMibThatDividesExactly() {
        assertThat(Fdinfo.formatSize(0)).isEqualTo("0");
        assertThat(Fdinfo.formatSize(1000)).isEqualTo("1000");
        assertThat(Fdinfo.formatSize(1023)).isEqualTo("1023");
        assertThat(Fdinfo.formatSize(1024)).isEqualTo("1 KiB");
        assertThat(Fdinfo.formatSize(4096)).isEqualTo("4 KiB");
        assertThat(Fdinfo.formatSize(4096 + 512)).isEqualTo("4608");
        assertThat(Fdinfo.formatSize(1536 * KIB)).isEqualTo("1536 KiB");
        assertThat(Fdinfo.formatSize(2 * MIB)).isEqualTo("2 MiB");
        assertThat(Fdinfo.formatSize(3L << 30)).isEqualTo("3072 MiB");
        assertThat(Fdinfo.formatSize(1L << 40)).isEqualTo("1048576 MiB");
    }

    @Test
    void everyPrintedSizeReadsBackAsTheSameByteCountInTheLargestExactUnit() {
        qt().forAll(longs().between(0, Long.MAX_VALUE >> 20), integers().between(0, 2)).checkAssert((base, shift) -> {
            long bytes = base << (10 * shift);
            String s = Fdinfo.formatSize(bytes);
            String[] parts = s.split(" ");
            long v = Long.parseLong(parts[0]);
            int unit = parts.length == 1 ? 0 : parts[1].equals("KiB") ? 1 : 2;
            assertThat(parts.length == 1 || parts[1].equals("KiB") || parts[1].equals("MiB")).as(s).isTrue();
            assertThat(v << (10 * unit)).as(s).isEqualTo(bytes);
            if (unit < 2 && v != 0) {
                assertThat(v % 1024).as("%s could go one unit up", s).isNotZero();
            }
        });
    }

    @Test
    void theTextIsTheKernelsDriverAndClientLinesThenTheMemoryKeysInItsOrderThenTheProposedEvictedKey() {
        Fdinfo f = new Fdinfo("panfrost", 7, Fdinfo.SYSTEM_MEMORY, 3 * MIB, 64 * KIB, 2 * MIB + 4 * KIB,
                4 * KIB, MIB, 1000);
        assertThat(f.text()).isEqualTo("drm-driver:\tpanfrost\n"
                + "drm-client-id:\t7\n"
                + "drm-total-memory:\t3 MiB\n"
                + "drm-shared-memory:\t64 KiB\n"
                + "drm-active-memory:\t1 MiB\n"
                + "drm-resident-memory:\t2052 KiB\n"
                + "drm-purgeable-memory:\t4 KiB\n"
                + "drm-evicted-memory:\t1000\n");
        assertThat(f.memoryKeys()).containsExactly(
                entry("drm-total-memory", 3 * MIB),
                entry("drm-shared-memory", 64 * KIB),
                entry("drm-active-memory", MIB),
                entry("drm-resident-memory", 2 * MIB + 4 * KIB),
                entry("drm-purgeable-memory", 4 * KIB),
                entry("drm-evicted-memory", 1000L));
    }

    @Test
    void theBuilderCountsAsTheKernelDoes() {
        Fdinfo f = Fdinfo.builder("d", 1)
                .add(MIB, false, MIB, false, false, 0) // private, resident
                .add(64 * KIB, true, 64 * KIB, false, false, 0) // shared, resident
                .add(512 * KIB, false, 512 * KIB, true, false, 0) // DONTNEED, idle: purgeable
                .add(256 * KIB, false, 256 * KIB, true, true, 0) // DONTNEED but busy: active, not purgeable
                .add(128 * KIB, false, 0, true, false, 0) // DONTNEED without pages (purged): nothing
                .add(4 * MIB, false, 2 * MIB, false, true, 0) // a busy heap: its populated half is active
                .add(32 * KIB, false, 0, false, false, 32 * KIB) // in swap
                .build();
        assertThat(f.total()).isEqualTo(MIB + 64 * KIB + 512 * KIB + 256 * KIB + 128 * KIB + 4 * MIB + 32 * KIB);
        assertThat(f.shared()).isEqualTo(64 * KIB);
        assertThat(f.resident()).isEqualTo(MIB + 64 * KIB + 512 * KIB + 256 * KIB + 2 * MIB);
        assertThat(f.purgeable()).isEqualTo(512 * KIB);
        assertThat(f.active()).isEqualTo(256 * KIB + 2 * MIB);
        assertThat(f.evicted()).isEqualTo(32 * KIB);
        assertThat(f.driver()).isEqualTo("d");
        assertThat(f.clientId()).isEqualTo(1);
        assertThat(f.region()).isEqualTo("memory");
    }

    @Test
    void inconsistentValuesAreRefused() {
        assertThatThrownBy(() -> new Fdinfo("d", 1, "memory", 4096, 8192, 0, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Fdinfo("d", 1, "memory", 4096, 0, -1, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
