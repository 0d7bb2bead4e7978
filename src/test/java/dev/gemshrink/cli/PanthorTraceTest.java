package dev.gemshrink.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The trace commands of the Panthor-like driver ({@code device driver=panthor}): every example trace with an
 * {@code .expected} file prints exactly that, line for line, error messages aside (the examples of
 * docs/trace-format.md), the commands of one driver are
 * syntax errors in a trace of the other, and a trace without the driver word stays a Panfrost trace.
 */
class PanthorTraceTest {
    @TempDir
    Path tmp;

    static List<String> expectedOutputs() throws IOException, URISyntaxException {
        try (Stream<Path> s = Files.list(TraceReplayTest.traceDir())) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".expected")).sorted()
                    .map(n -> n.substring(0, n.length() - ".expected".length())).collect(Collectors.toList());
        }
    }

    private CliRun replayText(String... lines) throws IOException {
        return TraceReplayTest.replayText(tmp, lines);
    }

    @Test
    void everyPanthorCommandHasAnExampleWithItsOutput() throws Exception {
        assertThat(expectedOutputs()).contains("panthor-swapin", "panthor-discard", "panthor-busy-vm",
                "panthor-tiler-heap", "panthor-errors");
        String all = expectedOutputs().stream().map(n -> {
            try {
                return Files.readString(TraceReplayTest.traceDir().resolve(n + ".expected"));
            } catch (IOException | URISyntaxException e) {
                throw new AssertionError(e);
            }
        }).collect(Collectors.joining());
        for (String verb : List.of("device driver=panthor", "ctx", "vm", "bo", "close", "bind", "unbind", "heap",
                "grow", "submit", "complete", "gpu_write", "gpu_read", "write", "read", "evict", "shrink", "state",
                "mem", "check", "expect")) {
            assertThat(all).as(verb).containsPattern("(?m)^\\d+: " + verb + "\\b");
        }
        for (String errno : List.of("EINVAL", "ENOENT", "EBUSY", "ENOMEM", "EFAULT")) {
            assertThat(all).contains("-> error " + errno + ": ");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("expectedOutputs")
    void theTracePrintsExactlyItsExpectedOutput(String name) throws Exception {
        Path dir = TraceReplayTest.traceDir();
        CliRun r = CliRun.of("replay", dir.resolve(name + ".trace").toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.err()).isEmpty();
        List<String> expected = Files.readAllLines(dir.resolve(name + ".expected"), StandardCharsets.UTF_8);
        assertThat(r.outLines().stream().map(PanthorTraceTest::withoutErrorMessage))
                .containsExactlyElementsOf(expected.stream().map(PanthorTraceTest::withoutErrorMessage).toList());
    }

    /**
     * A line with its error message cut, as {@code expect} compares: an error's message comes from the library, in
     * its own words, and may change with it; the errno may not.
     */
    private static String withoutErrorMessage(String line) {
        int arrow = line.indexOf(" -> ");
        return arrow < 0 ? line : line.substring(0, arrow + 4) + TraceReplay.stripMessage(line.substring(arrow + 4));
    }

    @Test
    void aTraceWithoutTheDriverWordIsPanfrostAndDriverPanfrostIsTheSame() throws Exception {
        CliRun plain = replayText("device ram=1MiB", "ctx c", "bo a c 4K", "state a");
        CliRun named = replayText("device driver=panfrost ram=1MiB", "ctx c", "bo a c 4K", "state a");
        assertThat(plain.exit()).isZero();
        assertThat(plain.outLines().get(3))
                .isEqualTo("4: state a -> madv=willneed pages_use=1 pin=0 vmap=0 resident=1 swapped=0 sgt=yes");
        assertThat(named.outLines().subList(1, 5)).isEqualTo(plain.outLines().subList(1, 5));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vm v c", "bind v a 0 4K 0x100000", "unbind v 0x100000 4K", "heap h v 64K 2",
        "grow v h", "gpu_read v 0x100000 4K", "gpu_write v 0x100000 4K 1"})
    void panthorCommandsNeedTheDriverWord(String command) throws Exception {
        CliRun r = replayText("ctx c", command);
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith("line 2: " + command.split(" ")[0] + " needs device driver=panthor\n");
        assertThat(r.out()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"open a d", "sgt a", "madvise a dontneed", "fault c a 0", "purge a", "fdinfo c", "gems",
        "pin a", "unpin a", "vmap a", "vunmap a", "get_pages a", "put_pages a", "bo b c 4K noexec",
        "bo b c 4K discard discard", "bo b c 4K private=1v", "submit j c a"})
    void panfrostCommandsAndFlagsAreSyntaxErrorsWithPanthor(String command) throws Exception {
        CliRun r = replayText("device driver=panthor", "ctx c", "bo a c 4K", command);
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).startsWith("line 4: ");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void theDriverWordIsCheckedAndMustComeFirst() throws Exception {
        assertThat(replayText("device driver=nouveau").err())
                .startsWith("line 1: device: driver is panfrost or panthor, not 'nouveau'");
        assertThat(replayText("device driver=panthor driver=panthor").err())
                .startsWith("line 1: device: driver given twice");
        assertThat(replayText("ctx c", "device driver=panthor").err())
                .startsWith("line 2: device must be the first command");
    }

    @Test
    void heldJobsCompleteInOrderAndTheEndCompletesThemAndFreesEverything() throws Exception {
        CliRun r = replayText("device driver=panthor ram=1MiB swap=1MiB", "ctx c", "vm v c", "bo a c 64K",
                "bind v a 0 64K 0x100000", "heap h v 64K 4", "grow v h", "expect chunk=0", "submit j v",
                "submit k v", "grow v h", "expect error EBUSY", "mem", "expect ram_used=32 swap_used=0");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.lastLine()).isEqualTo("replay: 14 commands, 0 expects failed, final check ok");
    }

    @Test
    void aDiscardedBoIsZerosAndAnEvictedOneKeepsItsBytes() throws Exception {
        CliRun r = replayText("device driver=panthor ram=1MiB swap=1MiB", "ctx c", "vm v c", "bo keep c 4K",
                "bo drop c 4K discard", "bind v keep 0 4K 0x100000", "bind v drop 0 4K 0x200000",
                "gpu_write v 0x100000 4K 7", "gpu_write v 0x200000 4K 7", "shrink 2", "expect freed=2",
                "gpu_read v 0x100000 4K", "gpu_read v 0x200000 4K", "read keep 0 4K", "read drop 0 4K");
        assertThat(r.exit()).as("%s", r).isZero();
        String sevens = r.outLines().get(11).substring(r.outLines().get(11).indexOf("crc32="));
        String zeros = r.outLines().get(12).substring(r.outLines().get(12).indexOf("crc32="));
        assertThat(sevens).isNotEqualTo(zeros);
        assertThat(r.outLines().get(13)).endsWith(sevens);
        assertThat(r.outLines().get(14)).endsWith(zeros);
        assertThat(zeros).isEqualTo("crc32=c71c0011"); // CRC-32 of 4096 zero bytes
    }
}
