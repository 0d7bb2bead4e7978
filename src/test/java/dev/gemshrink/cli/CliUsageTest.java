package dev.gemshrink.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line itself: help, and every usage error exits 2 with a message and no stack trace. */
class CliUsageTest {
    @TempDir
    Path tmp;

    @Test
    void helpExitsZero() {
        for (String h : new String[] {"--help", "-h", "help"}) {
            CliRun r = CliRun.of(h);
            assertThat(r.exit()).as("%s", r).isZero();
            assertThat(r.out()).contains("usage: gemshrink", "replay FILE", "simulate [options]", "--workload",
                    "--report PATH");
            assertThat(r.err()).isEmpty();
        }
        CliRun s = CliRun.of("simulate", "--help");
        assertThat(s.exit()).isZero();
        assertThat(s.out()).contains("--swap-file PATH", "--threads N", "--seed N");
    }

    @Test
    void noCommandIsAUsageError() {
        CliRun r = CliRun.of();
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("missing command");
    }

    @Test
    void unknownCommandIsAUsageError() {
        CliRun r = CliRun.of("frobnicate");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("unknown command 'frobnicate'").contains("--help");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void missingTraceFileIsAUsageError() {
        CliRun r = CliRun.of("replay", tmp.resolve("nope.trace").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("cannot read").contains("no such file");
        assertThat(r.out()).isEmpty();
        CliRun dir = CliRun.of("replay", tmp.toString());
        assertThat(dir.exit()).isEqualTo(2);
        assertThat(dir.err()).contains("cannot read");
    }

    @Test
    void replayTakesExactlyOneFile() {
        assertThat(CliRun.of("replay").exit()).isEqualTo(2);
        assertThat(CliRun.of("replay", "a", "b").exit()).isEqualTo(2);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "--bogus 1",
        "--workload",
        "--workload doom",
        "--ram 1K",
        "--ram lots",
        "--swap -1",
        "--seconds 0",
        "--seconds soon",
        "--threads 0",
        "--threads 65",
        "--threads two",
        "--seed x",
        "--swap 0 --swap-file /tmp/x",
        "extra",
        "--report=",
    })
    void badSimulateOptionsAreUsageErrors(String args) {
        String[] words = ("simulate " + args).split(" ");
        CliRun r = CliRun.of(words);
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).as("%s", r).startsWith("gemshrink: simulate").doesNotContain("Exception")
                .doesNotContain("\tat ");
        assertThat(r.out()).as("nothing ran").isEmpty();
    }

    @Test
    void unopenableSwapFileIsAUsageError() {
        CliRun r = CliRun.of("simulate", "--seconds", "0.1", "--swap-file",
                tmp.resolve("no/such/dir/swap").toString());
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).contains("cannot create swap file");
    }

    @Test
    void anExistingSwapFileIsRefusedAndKeepsItsBytes() throws Exception {
        java.nio.file.Path precious = tmp.resolve("precious.dat");
        byte[] bytes = "a user's file, not a swap file".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.file.Files.write(precious, bytes);
        CliRun r = CliRun.of("simulate", "--seconds", "0.1", "--swap", "1MiB", "--swap-file", precious.toString());
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).contains("already exists; refusing to overwrite it").doesNotContain("\tat ");
        assertThat(r.out()).as("nothing ran").isEmpty();
        assertThat(java.nio.file.Files.readAllBytes(precious)).isEqualTo(bytes);
    }

    @Test
    void theShutdownCleanupDeletesTheSwapFileTheRunCreated() throws Exception {
        java.nio.file.Path created = tmp.resolve("created.swap");
        java.nio.file.Files.write(created, new byte[] {1});
        Simulation.deleteCreated(created);
        assertThat(created).doesNotExist();
        Simulation.deleteCreated(created); // already gone: nothing to do, no error
    }
}
