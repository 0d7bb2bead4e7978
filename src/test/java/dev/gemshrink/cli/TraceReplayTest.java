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
 * Replays every example trace under {@code src/test/resources/traces} through {@link Main#run} (the entry point of
 * the jar): each must hold all its {@code expect} lines and pass the final check (exit 0), except the syntax-error
 * trace, which must be refused before anything runs (exit 2, {@code line N:} on stderr). A few outputs are checked
 * line by line, and small traces written here pin down the parser's and the replay's contract.
 */
class TraceReplayTest {
    private static final String SYNTAX_ERROR = "syntax-error.trace";

    @TempDir
    Path tmp;

    static Path traceDir() throws URISyntaxException {
        return Path.of(TraceReplayTest.class.getResource("/traces").toURI());
    }

    static List<String> traces() throws IOException, URISyntaxException {
        try (Stream<Path> s = Files.list(traceDir())) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".trace")).sorted()
                    .collect(Collectors.toList());
        }
    }

    private static CliRun replay(String trace) throws URISyntaxException {
        return CliRun.of("replay", traceDir().resolve(trace).toString());
    }

    private CliRun replayText(String... lines) throws IOException {
        return replayText(tmp, lines);
    }

    /** Replays a trace of these lines, written to a new file in {@code dir}. */
    static CliRun replayText(Path dir, String... lines) throws IOException {
        Path f = Files.createTempFile(dir, "inline", ".trace");
        Files.write(f, List.of(lines), StandardCharsets.UTF_8);
        return CliRun.of("replay", f.toString());
    }

    @Test
    void thereAreExampleTraces() throws Exception {
        assertThat(traces()).contains(SYNTAX_ERROR, "kunit-create.trace", "kunit-pin.trace", "kunit-vmap.trace",
                "kunit-get-sg-table.trace", "kunit-get-pages-sgt.trace", "kunit-madvise.trace", "kunit-purge.trace",
                "madvise-retained.trace", "zero-fill.trace", "heap-fault-seed.trace", "evict-swapin.trace",
                "enomem-no-swap.trace", "enomem-with-swap.trace", "error-codes.trace", "fdinfo-gems.trace");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("traces")
    void everyTraceReplays(String trace) throws Exception {
        CliRun r = replay(trace);
        if (trace.equals(SYNTAX_ERROR)) {
            assertThat(r.exit()).as("%s", r).isEqualTo(2);
            assertThat(r.err()).as("%s", r).startsWith("line 6: ");
            assertThat(r.out()).as("nothing runs").isEmpty();
            return;
        }
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).as("%s", r).doesNotContain("FAILED").doesNotContain("internal");
        assertThat(r.lastLine()).as("%s", r).matches("replay: \\d+ commands, 0 expects failed, final check ok");
        assertThat(r.err()).as("%s", r).isEmpty();
        for (String line : r.outLines().subList(0, r.outLines().size() - 1)) {
            assertThat(line).as("an executed command").matches("\\d+: \\S.* -> \\S.*");
        }
    }

    // ------------------------------------------------------------------ exact lines of a few traces

    @Test
    void kunitVmapLines() throws Exception {
        CliRun r = replay("kunit-vmap.trace");
        assertThat(r.outLines()).contains(
                "2: device ram=16MiB swap=16MiB -> ok",
                "5: vmap a -> ok",
                "7: state a -> madv=willneed pages_use=2 pin=1 vmap=1 resident=256 swapped=0 sgt=yes",
                "9: write a 0 1MiB 0xae -> ok",
                "12: read a 0 1MiB -> crc32=75008fdc",
                "13: expect crc32=75008fdc -> ok",
                "14: read a 0 4K -> crc32=14492462");
        assertThat(r.outLines()).anyMatch(l -> l.startsWith("25: vunmap a -> error EINVAL: "));
        assertThat(r.lastLine()).isEqualTo("replay: 36 commands, 0 expects failed, final check ok");
    }

    @Test
    void heapFaultSeedLines() throws Exception {
        CliRun r = replay("heap-fault-seed.trace");
        assertThat(r.outLines()).contains(
                "9: state h -> madv=willneed pages_use=0 pin=0 vmap=0 resident=0 swapped=0 sgt=no",
                "15: fault c h 0 -> ok",
                "17: state h -> madv=willneed pages_use=1 pin=0 vmap=0 resident=512 swapped=0 sgt=no",
                "21: state h -> madv=willneed pages_use=1 pin=0 vmap=0 resident=1024 swapped=0 sgt=no",
                "60: shrink 100000 -> freed=0",
                "93: close e -> ok");
        assertThat(r.outLines()).anyMatch(l -> l.startsWith("37: fault c n 0 -> error EINVAL: "));
        assertThat(r.lastLine()).isEqualTo("replay: 75 commands, 0 expects failed, final check ok");
    }

    @Test
    void errorCodeLines() throws Exception {
        CliRun r = replay("error-codes.trace");
        assertThat(r.outLines()).anyMatch(l -> l.startsWith("8: bo z c 0 -> error EINVAL: "))
                .anyMatch(l -> l.startsWith("39: bo big c 16MiB -> error ENOMEM: "))
                .anyMatch(l -> l.startsWith("48: evict a -> error EBUSY: "))
                .anyMatch(l -> l.startsWith("66: read d 0 4K -> error EFAULT: "))
                .anyMatch(l -> l.startsWith("80: complete k -> error ENOENT: "))
                .contains("11: expect error EINVAL: a HEAP BO must be NOEXEC -> ok");
    }

    @Test
    void evictionLines() throws Exception {
        CliRun r = replay("evict-swapin.trace");
        assertThat(r.outLines()).contains(
                "14: state a -> madv=willneed pages_use=1 pin=0 vmap=0 resident=0 swapped=256 sgt=no",
                "16: mem -> ram_used=0 swap_used=256",
                "24: read a 0 1MiB -> crc32=f70c8dec",
                "26: state a -> madv=willneed pages_use=1 pin=0 vmap=0 resident=256 swapped=0 sgt=yes");
    }

    // ------------------------------------------------------------------ the replay's contract

    @Test
    void failedExpectIsReportedAndExitsOne() throws Exception {
        CliRun r = replayText("ctx c", "bo a c 4K", "madvise a willneed", "expect retained=false", "expect retained=true",
                "state a", "expect error ENOENT");
        assertThat(r.exit()).as("%s", r).isEqualTo(1);
        assertThat(r.outLines()).containsExactly(
                "1: ctx c -> ok",
                "2: bo a c 4K -> ok",
                "3: madvise a willneed -> retained=true",
                "4: expect retained=false -> FAILED (got: retained=true)",
                "5: expect retained=true -> ok",
                "6: state a -> madv=willneed pages_use=1 pin=0 vmap=0 resident=1 swapped=0 sgt=yes",
                "7: expect error ENOENT -> FAILED (got: madv=willneed pages_use=1 pin=0 vmap=0 resident=1 swapped=0 "
                        + "sgt=yes)",
                "replay: 7 commands, 2 expects failed, final check ok");
    }

    @Test
    void expectIgnoresTheMessageOfAnErrorButNotTheErrno() throws Exception {
        CliRun r = replayText("ctx c", "state nope", "expect error ENOENT", "expect error ENOENT: whatever it says",
                "expect error EINVAL", "expect error");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.outLines()).contains("3: expect error ENOENT -> ok",
                "4: expect error ENOENT: whatever it says -> ok");
        assertThat(r.outLines()).anyMatch(l -> l.startsWith("5: expect error EINVAL -> FAILED (got: error ENOENT: "))
                .anyMatch(l -> l.startsWith("6: expect error -> FAILED (got: error ENOENT: "));
        assertThat(r.lastLine()).isEqualTo("replay: 6 commands, 2 expects failed, final check ok");
    }

    @Test
    void defaultsCommentsTabsAndBlankLines() throws Exception {
        CliRun r = replayText("# no device line: ram=256MiB swap=256MiB", "", "ctx\tc   # a comment",
                "bo big c 257MiB", "expect error ENOMEM: more than the 65536 pages of RAM", "bo a c 1MiB",
                "evict a", "   mem", "expect ram_used=0 swap_used=256\t# evicted: there is swap");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).contains("3: ctx\tc -> ok", "8: mem -> ram_used=0 swap_used=256");
        assertThat(r.outLines()).anyMatch(l -> l.matches("4: bo big c 257MiB -> error ENOMEM: .*65536.*"));
    }

    @Test
    void aTraceWithoutCommandsIsAnInputError() throws Exception {
        CliRun r = replayText("# nothing", "");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).endsWith(": no commands\n").startsWith("gemshrink: replay: ");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void theEndReleasesEverythingTheTraceHolds() throws Exception {
        CliRun r = replayText("device ram=4MiB swap=0", "ctx c", "ctx d", "bo a c 1MiB", "open a d", "pin a",
                "vmap a", "get_pages a", "submit j c a", "submit k d a", "bo h c 2MiB heap noexec", "fault c h 0",
                "mem", "expect ram_used=768 swap_used=0");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.lastLine()).isEqualTo("replay: 14 commands, 0 expects failed, final check ok");
    }

    @Test
    void closedNamesAreUnknownAndFreeAgain() throws Exception {
        CliRun r = replayText("ctx c", "bo a c 4K", "close a", "close a", "expect error ENOENT", "bo a c 8K",
                "expect ok", "state a", "expect madv=willneed pages_use=1 pin=0 vmap=0 resident=2 swapped=0 sgt=yes",
                "submit j c a", "complete j", "complete j", "expect error ENOENT", "submit j c a", "expect ok");
        assertThat(r.exit()).as("%s", r).isZero();
    }

    @Test
    void aFailedCommandCreatesNothing() throws Exception {
        CliRun r = replayText("device ram=64K swap=0", "ctx c", "bo a c 1MiB", "expect error ENOMEM", "state a",
                "expect error ENOENT", "mem", "expect ram_used=0 swap_used=0", "bo a c 64K", "expect ok");
        assertThat(r.exit()).as("%s", r).isZero();
    }

    // ------------------------------------------------------------------ syntax errors

    @ParameterizedTest
    @ValueSource(strings = {
        "frobnicate a",                 // unknown command
        "ctx",                          // too few words
        "ctx c d",                      // too many words
        "ctx 9c",                       // bad name
        "ctx c$",                       // bad name
        "bo a c 1X",                    // bad size
        "bo a c 99999999999999999999",  // too large
        "bo a c 4K exec",               // unknown flag
        "bo a c 4K heap heap",          // flag twice
        "write a 0 4K 256",             // byte out of range
        "write a 0 4K 0x100",           // byte out of range
        "write a 0 4K -1",              // not a byte
        "madvise a maybe",              // bad advice
        "submit j c a,,b",              // empty BO name
        "shrink 1K",                    // PAGES is a plain count
        "shrink -1",                    // negative
        "device ram=1MiB",              // device not first
        "device ram=1MiB swap=1MiB swap=2MiB",
        "expect",                       // nothing expected
    })
    void syntaxErrorsStopEverything(String bad) throws Exception {
        CliRun r = replayText("ctx c", "# comment", bad, "bo a c 4K");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).as("%s", r).startsWith("line 3: ");
        assertThat(r.out()).as("nothing runs").isEmpty();
    }

    @Test
    void deviceMustComeFirstAndExpectNeedsACommand() throws Exception {
        assertThat(replayText("# first", "device ram=1MiB", "ctx c").exit()).isZero();
        CliRun r = replayText("expect ok", "ctx c", "device ram=1MiB", "ctx d", "device swap=0 ram=1MiB");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().split("\n")).containsExactly("line 1: expect needs a command before it",
                "line 3: device must be the first command", "line 5: device must be the first command",
                "gemshrink: replay: " + r.err().split("\n")[3].substring("gemshrink: replay: ".length()));
        assertThat(r.err()).endsWith(": 3 syntax errors; nothing ran\n");
        assertThat(replayText("device ram=0").err()).startsWith("line 1: ");
        assertThat(replayText("device color=blue").err()).startsWith("line 1: ");
    }

    @Test
    void fdinfoAndGemsTakeTheirWordsAndAnUnknownClientIsEnoent() throws Exception {
        CliRun bad = replayText("ctx c", "fdinfo", "gems c");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("line 2: wrong number of words: fdinfo C",
                "line 3: wrong number of words: gems");
        CliRun r = replayText("gems", "ctx c", "fdinfo c", "fdinfo nowhere", "expect error ENOENT");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).startsWith("1: gems -> total=0 reclaimable=0 last_scan=0", "2: ctx c -> ok",
                "3: fdinfo c -> drm-total-memory=0 drm-shared-memory=0 drm-resident-memory=0 drm-purgeable-memory=0"
                        + " drm-active-memory=0 drm-evicted-memory=0",
                "4: fdinfo nowhere -> error ENOENT: no ctx nowhere");
    }
}
