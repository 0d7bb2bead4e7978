package dev.gemshrink.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The gems table: its footer is computed from its rows, and its text form. */
class GemsTableTest {
    private static GemsTable.Row row(String name, long size, BoState state, int resident, boolean reclaimable) {
        return new GemsTable.Row(name, "app", size, "-", "willneed", state, resident, 0, 0, 0, 1, 0, reclaimable);
    }

    @Test
    void theFooterSumsTheSizesAndTheResidentBytesOfTheReclaimableRows() {
        GemsTable t = new GemsTable(List.of(row("a", 8192, BoState.RESIDENT, 2, true),
                row("b", 4096, BoState.RESIDENT, 1, false), row("c", 40960, BoState.EVICTED, 0, false)), 3);
        assertThat(t.totalBytes()).isEqualTo(8192 + 4096 + 40960);
        assertThat(t.reclaimableBytes()).isEqualTo(8192);
        assertThat(t.lastScanReclaimed()).isEqualTo(3);
    }

    @Test
    void theTextHasAHeaderAlignedColumnsAndTheFooter() {
        GemsTable t = new GemsTable(List.of(
                new GemsTable.Row("tex", "app", 1048576, "-", "willneed", BoState.EVICTED, 0, 256, 0, 0, 1, 1, false),
                new GemsTable.Row("h", "compositor", 2097152, "heap|noexec", "willneed", BoState.RESIDENT, 512, 0,
                        0, 0, 2, 0, false)), 128);
        assertThat(t.text()).isEqualTo(""
                + "name  client      size     flags        madv      state     resident  swapped  pins  vmaps"
                + "  mappings  reclaimed\n"
                + "tex   app         1048576  -            willneed  evicted   0         256      0     0"
                + "      1         1\n"
                + "h     compositor  2097152  heap|noexec  willneed  resident  512       0        0     0"
                + "      2         0\n"
                + "total: 3145728 bytes\n"
                + "total reclaimable: 0 bytes\n"
                + "reclaimed by the last scan: 128 pages\n");
    }

    @Test
    void anEmptyTableHasOnlyTheHeaderAndAZeroFooter() {
        assertThat(new GemsTable(List.of(), 0).text()).endsWith("\ntotal: 0 bytes\ntotal reclaimable: 0 bytes\n"
                + "reclaimed by the last scan: 0 pages\n").startsWith("name  client  size");
    }

    @Test
    void negativeValuesAreRefused() {
        assertThatThrownBy(() -> row("a", -1, BoState.RESIDENT, 0, false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GemsTable(List.of(), -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void stateLabelsAreLowercase() {
        assertThat(List.of(BoState.values())).extracting(BoState::label)
                .containsExactly("resident", "evicted", "purged", "discarded");
    }
}
