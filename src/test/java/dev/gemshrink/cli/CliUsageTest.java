package dev.gemshrink.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The command line as a user meets it, through {@link Main#run} (the jar's entry point): help and version on every
 * command, one message format ({@code gemshrink: ...}), and the exit statuses 0 ok, 1 a problem found by the model,
 * 2 a usage or input error, 3 an I/O or internal error.
 */
class CliUsageTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"--help", "-h", "help"})
    void helpExitsZero(String h) {
        CliRun r = CliRun.of(h);
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).contains("Usage: gemshrink", "replay", "simulate", "Exit status:",
                "2  usage or input error");
        assertThat(r.err()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"-h", "--help"})
    void everyCommandHasHelp(String h) {
        CliRun s = CliRun.of("simulate", h);
        assertThat(s.exit()).as("%s", s).isZero();
        assertThat(s.out()).contains("Usage: gemshrink simulate", "--swap-file=PATH", "--threads=N", "--seed=N",
                "--workload=NAME", "--report=PATH");
        CliRun r = CliRun.of("replay", h);
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).contains("Usage: gemshrink replay", "FILE", "- reads standard input");
        assertThat(CliRun.of("help", "simulate").out()).contains("Usage: gemshrink simulate");
    }

    @Test
    void versionNamesTheVersionTheCommitAndTheJvm() {
        for (String[] args : List.of(new String[] {"--version"}, new String[] {"-V"},
                new String[] {"simulate", "--version"}, new String[] {"replay", "-V"})) {
            CliRun r = CliRun.of(args);
            assertThat(r.exit()).as("%s", r).isZero();
            assertThat(r.outLines()).hasSize(3);
            assertThat(r.outLines().get(0)).matches("gemshrink \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
            assertThat(r.outLines().get(1)).matches("git commit ([0-9a-f]{4,40}|unknown)");
            assertThat(r.outLines().get(2)).startsWith("JVM ").contains(System.getProperty("java.version"));
        }
    }

    @Test
    void noCommandIsAUsageError() {
        CliRun r = CliRun.of();
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith("gemshrink: missing command");
    }

    @Test
    void unknownCommandIsAUsageError() {
        CliRun r = CliRun.of("frobnicate");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("gemshrink: unknown command 'frobnicate'\nTry 'gemshrink --help'.\n");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void directBackingRunsTheSimulationOffTheHeapAndSaysSo() {
        CliRun r = CliRun.of("simulate", "--backing", "direct", "--threads", "1", "--seconds", "0.2", "--ram", "8MiB",
                "--seed", "3");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines().get(0)).contains(" backing=direct ");
        assertThat(r.out()).contains("simulate: ok");
        CliRun bad = CliRun.of("simulate", "--backing", "offheap");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("unknown backing 'offheap' (heap or direct)");
    }

    @Test
    void gemsPrintsTheTableTheWorkersLeft() {
        CliRun r = CliRun.of("simulate", "--gems", "--workload", "browser", "--threads", "1", "--seconds", "0.2",
                "--ram", "8MiB", "--seed", "3");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).contains("total reclaimable: ").contains("reclaimed by the last scan: ");
        assertThat(CliRun.of("simulate", "--threads", "1", "--seconds", "0.2", "--ram", "8MiB").out())
                .doesNotContain("total reclaimable: ");
    }

    @Test
    void unknownOptionsAreReportedAsUnknown() {
        CliRun s = CliRun.of("simulate", "--bogus");
        assertThat(s.exit()).isEqualTo(2);
        assertThat(s.err()).isEqualTo("gemshrink: simulate: unknown option '--bogus'\n"
                + "Try 'gemshrink simulate --help'.\n");
        CliRun r = CliRun.of("replay", "--bogus", "x.trace");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith("gemshrink: replay: unknown option '--bogus'");
        assertThat(CliRun.of("--bogus").err()).startsWith("gemshrink: unknown option '--bogus'");
    }

    @Test
    void missingTraceFileIsAnInputError() {
        CliRun r = CliRun.of("replay", tmp.resolve("nope.trace").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("gemshrink: replay: cannot read " + tmp.resolve("nope.trace")
                + ": no such file\n");
        assertThat(r.out()).isEmpty();
        CliRun dir = CliRun.of("replay", tmp.toString());
        assertThat(dir.exit()).isEqualTo(2);
        assertThat(dir.err()).contains("cannot read").contains("is a directory");
    }

    @Test
    void replayTakesExactlyOneFile() {
        assertThat(CliRun.of("replay").exit()).isEqualTo(2);
        CliRun two = CliRun.of("replay", "a", "b");
        assertThat(two.exit()).isEqualTo(2);
        assertThat(two.err()).startsWith("gemshrink: replay: unexpected argument 'b'");
    }

    @Test
    void aDashReadsStandardInput() {
        byte[] trace = "ctx c\nbo a c 4K\nexpect ok\n".getBytes(StandardCharsets.UTF_8);
        CliRun r = CliRun.withInput(new ByteArrayInputStream(trace), "replay", "-");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.lastLine()).matches("replay: \\d+ commands, 0 expects failed, final check ok");
    }

    @Test
    void aByteOrderMarkIsAccepted() throws IOException {
        Path f = tmp.resolve("bom.trace");
        Files.write(f, ("\uFEFFctx c\r\nbo a c 4K\r\n").getBytes(StandardCharsets.UTF_8));
        CliRun r = CliRun.of("replay", f.toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines().get(0)).isEqualTo("1: ctx c -> ok");
    }

    @Test
    void aFailedExpectIsExitOne() throws IOException {
        Path f = tmp.resolve("fails.trace");
        Files.writeString(f, "ctx c\nbo a c 4K\nexpect error ENOMEM\n");
        CliRun r = CliRun.of("replay", f.toString());
        assertThat(r.exit()).as("%s", r).isEqualTo(1);
    }

    @Test
    void syntaxErrorsAreCappedAtFifty() throws IOException {
        Path f = tmp.resolve("junk.trace");
        List<String> junk = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            junk.add("frobnicate " + i);
        }
        Files.write(f, junk, StandardCharsets.UTF_8);
        CliRun r = CliRun.of("replay", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        String[] lines = r.err().split("\n");
        assertThat(lines).hasSize(52);
        assertThat(lines[0]).startsWith("line 1: ");
        assertThat(lines[49]).startsWith("line 50: ");
        assertThat(lines[50]).isEqualTo("... and 4950 more");
        assertThat(lines[51]).isEqualTo("gemshrink: replay: " + f + ": 5000 syntax errors; nothing ran");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void anUnreadableStandardInputIsAnIoError() {
        InputStream broken = new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("device went away");
            }
        };
        CliRun r = CliRun.withInput(broken, "replay", "-");
        assertThat(r.exit()).as("%s", r).isEqualTo(3);
        assertThat(r.err()).isEqualTo("gemshrink: replay: cannot read standard input: device went away\n");
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
        assertThat(r.err()).as("%s", r).startsWith("gemshrink: simulate: ").doesNotContain("Exception")
                .doesNotContain("\tat ").endsWith("Try 'gemshrink simulate --help'.\n");
        assertThat(r.out()).as("nothing ran").isEmpty();
    }

    @Test
    void outputPathsAreCheckedBeforeTheRunWithTheCause() {
        Path missing = tmp.resolve("no/such/dir");
        CliRun r = CliRun.of("simulate", "--seconds", "60", "--report", missing.resolve("r.html").toString());
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).startsWith("gemshrink: simulate: --report " + missing.resolve("r.html")
                + ": no such directory " + missing + "\n");
        assertThat(r.out()).as("nothing ran").isEmpty();
        CliRun s = CliRun.of("simulate", "--seconds", "60", "--swap-file", missing.resolve("swap").toString());
        assertThat(s.exit()).as("%s", s).isEqualTo(2);
        assertThat(s.err()).contains("no such directory " + missing);
        CliRun d = CliRun.of("simulate", "--seconds", "60", "--report", tmp.toString());
        assertThat(d.exit()).as("%s", d).isEqualTo(2);
        assertThat(d.err()).contains(": is a directory");
    }

    @Test
    void anExistingSwapFileIsRefusedAndKeepsItsBytes() throws Exception {
        Path precious = tmp.resolve("precious.dat");
        byte[] bytes = "a user's file, not a swap file".getBytes(StandardCharsets.UTF_8);
        Files.write(precious, bytes);
        CliRun r = CliRun.of("simulate", "--seconds", "0.1", "--swap", "1MiB", "--swap-file", precious.toString());
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).contains("already exists; refusing to overwrite it").doesNotContain("\tat ");
        assertThat(r.out()).as("nothing ran").isEmpty();
        assertThat(Files.readAllBytes(precious)).isEqualTo(bytes);
    }
}
