package dev.gemshrink.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.sim.SimulationConfig;
import org.junit.jupiter.api.Test;

/** A RAM budget the JVM heap cannot hold is refused before the run, with a message naming -Xmx. */
class HeapBudgetTest {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    @Test
    void aBudgetWithinTheHeapMinusItsHeadroomFits() {
        assertThat(HeapBudget.check(1 * GIB, 512 * MIB, 2 * GIB, "--ram 1GiB")).isNull();
    }

    @Test
    void aBudgetAsLargeAsTheHeapIsRefusedNamingXmx() {
        String m = HeapBudget.check(2 * GIB, 0, 2 * GIB, "simulate: --ram 2GiB");
        assertThat(m).startsWith("simulate: --ram 2GiB needs 2048 MiB of heap but the JVM heap holds at most 2048 MiB")
                .contains("-Xmx");
    }

    @Test
    void inMemorySwapCountsAgainstTheHeap() {
        assertThat(HeapBudget.check(1 * GIB, 1 * GIB, 2 * GIB, "--ram 1GiB")).contains("of in-memory swap")
                .contains("-Xmx");
        assertThat(HeapBudget.check(1 * GIB, 0, 2 * GIB, "--ram 1GiB")).as("a swap file is not in the heap").isNull();
    }

    @Test
    void simulateRefusesABudgetLargerThanTheHeapBeforeAnythingRuns() {
        long max = Runtime.getRuntime().maxMemory();
        long ram = Math.min(SimulationConfig.MAX_RAM, Math.max(max, 4 * MIB));
        if (ram < max - HeapBudget.headroom(max)) {
            return; // a heap above the largest --ram: nothing to refuse on this JVM
        }
        CliRun r = CliRun.of("simulate", "--seconds", "0.1", "--ram", (ram >> 20) + "MiB", "--swap", "0");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).contains("-Xmx").doesNotContain("\tat ");
        assertThat(r.out()).as("nothing ran").isEmpty();
    }

    @Test
    void replayRefusesADeviceLargerThanTheHeapAsAnInputError() throws Exception {
        java.nio.file.Path t = java.nio.file.Files.createTempFile("huge", ".trace");
        try {
            long gib = (Runtime.getRuntime().maxMemory() >> 30) + 2; // more than this JVM's heap
            java.nio.file.Files.writeString(t, "device ram=" + gib + "GiB swap=0\nctx c\n");
            CliRun r = CliRun.of("replay", t.toString());
            assertThat(r.exit()).as("%s", r).isEqualTo(2);
            assertThat(r.err()).as("%s", r).contains("line 1: device ram=").contains("-Xmx").doesNotContain("\tat ");
        } finally {
            java.nio.file.Files.deleteIfExists(t);
        }
    }
}
