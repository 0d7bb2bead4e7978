package dev.gemshrink.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.reclaim.ReclaimPolicy;
import dev.gemshrink.sim.AccessTrace;
import dev.gemshrink.sim.AccessTraceReplay;
import dev.gemshrink.testing.LruOracle;
import java.io.ByteArrayInputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code simulate --workload trace} through {@link Main#run}: output lines, exit statuses, input errors. */
class SimulateTraceTest {
    @TempDir
    Path tmp;

    private Path file(String name, String text) throws Exception {
        Path p = tmp.resolve(name);
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    private static Path shipped(String name) throws Exception {
        return Path.of(SimulateTraceTest.class.getResource("/access-traces/" + name).toURI());
    }

    @Test
    void aShippedTraceGivesTheMissesOfAnExactLru() throws Exception {
        Path zipf = shipped("zipf.txt");
        long expected;
        try (Reader r = Files.newBufferedReader(zipf)) {
            expected = LruOracle.misses(AccessTrace.parse(r), 64);
        }
        CliRun r = CliRun.of("simulate", "--workload", "trace", "--trace", zipf.toString(), "--capacity", "64");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.outLines()).containsExactly(
                "simulate: workload=trace trace=" + zipf + " requests=3000 capacity=64 pages",
                "policy=lru requests=3000 misses=" + expected + " miss_ratio=" + String.format(Locale.ROOT, "%.4f",
                        expected / 3000.0),
                "simulate: ok");
        assertThat(expected).isEqualTo(1520);
    }

    @Test
    void csvSizesArePagesAndAnObjectLargerThanTheCapacityIsAMissThatCachesNothing() throws Exception {
        // capacity 3 pages: 1 (1 page) miss, 2 (2 pages) miss, 1 hit (its size ignored), 3 (1 page) miss purges 2,
        // 9 (5 pages) miss without caching or purging, 1 hit, 2 miss purges 3 (one page short), 3 miss purges 1
        Path csv = file("t.csv", "op,id,size\nget,1,4096\nget,2,8192\nget,1,4096\nget,3,1\nget,9,20000\nget,1,1\n"
                + "get,2,8000\nget,3,1\n");
        CliRun r = CliRun.of("simulate", "--workload=trace", "--trace=" + csv, "--capacity=3", "--compare=lru");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).endsWith("policy=lru requests=8 misses=6 miss_ratio=0.7500", "simulate: ok");
    }

    @Test
    void aBomCrlfBlankLinesAndStandardInputAreAccepted() throws Exception {
        Path bom = file("bom.txt", "\uFEFF1\r\n\r\n2\r\n1\r\n3\r\n");
        CliRun f = CliRun.of("simulate", "--workload", "trace", "--trace", bom.toString(), "--capacity", "2",
                "--policy", "lru");
        assertThat(f.exit()).as("%s", f).isZero();
        assertThat(f.outLines()).endsWith("policy=lru requests=4 misses=3 miss_ratio=0.7500", "simulate: ok");
        CliRun s = CliRun.withInput(new ByteArrayInputStream(Files.readAllBytes(bom)), "simulate", "--workload",
                "trace", "--trace", "-", "--capacity", "2");
        assertThat(s.exit()).as("%s", s).isZero();
        assertThat(s.outLines()).containsExactly("simulate: workload=trace trace=- requests=4 capacity=2 pages",
                "policy=lru requests=4 misses=3 miss_ratio=0.7500", "simulate: ok");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "\n\n", "id,size\n"})
    void aTraceWithoutRequestsIsAnInputError(String text) throws Exception {
        Path empty = file("empty.txt", text);
        CliRun r = CliRun.of("simulate", "--workload", "trace", "--trace", empty.toString(), "--capacity", "8");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).isEqualTo("gemshrink: simulate: " + empty + ": no requests\n");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void syntaxErrorsAreCappedAtFiftyAndNothingRuns() throws Exception {
        Path bad = file("bad.txt", "1\n" + "x\n".repeat(60) + "2\n");
        CliRun r = CliRun.of("simulate", "--workload", "trace", "--trace", bad.toString(), "--capacity", "8");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        String[] lines = r.err().split("\n");
        assertThat(lines).hasSize(52);
        assertThat(lines[0]).isEqualTo("line 2: bad id 'x' (a decimal integer 0 to 9223372036854775807)");
        assertThat(lines[49]).startsWith("line 51: ");
        assertThat(lines[50]).isEqualTo("... and 10 more");
        assertThat(lines[51]).isEqualTo("gemshrink: simulate: " + bad + ": 60 syntax errors; nothing ran");
    }

    @Test
    void aMissingOrNonUtf8TraceIsAnInputError() throws Exception {
        Path missing = tmp.resolve("missing.txt");
        CliRun r = CliRun.of("simulate", "--workload", "trace", "--trace", missing.toString(), "--capacity", "8");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).isEqualTo("gemshrink: simulate: cannot read " + missing + ": no such file\n");
        Path latin1 = tmp.resolve("latin1.txt");
        Files.write(latin1, new byte[] {'1', '\n', (byte) 0xE9, '\n'});
        CliRun l = CliRun.of("simulate", "--workload", "trace", "--trace", latin1.toString(), "--capacity", "8");
        assertThat(l.exit()).as("%s", l).isEqualTo(2);
        assertThat(l.err()).isEqualTo("gemshrink: simulate: cannot read " + latin1 + ": not UTF-8 text\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "--workload trace --trace T --capacity 4 --compare lru,lru|--compare names lru twice",
        "--workload trace --trace T --capacity 4 --policy lru --compare lru|--policy and --compare exclude each other",
        "--workload trace --capacity 4|--workload trace needs --trace FILE",
        "--workload trace --trace T|--workload trace needs --capacity N",
        "--workload trace --trace T --capacity 0|--capacity must be at least 1 page, not 0",
        "--workload trace --trace T --capacity 4 --threads 1|--threads does not apply to --workload trace",
        "--workload trace --trace T --capacity 4 --seconds 1|--seconds does not apply to --workload trace",
        "--workload trace --trace T --capacity 4 --ram 8MiB|--ram does not apply to --workload trace",
        "--workload trace --trace T --capacity 4 --seed 1|--seed does not apply to --workload trace",
        "--trace T --capacity 4|--trace needs --workload trace",
        "--workload browser --capacity 4|--capacity needs --workload trace",
        "--policy lru --compare lru|--policy and --compare exclude each other",
    })
    void traceOptionsAreCheckedBeforeAnythingRuns(String caseText) throws Exception {
        Path t = file("t.txt", "1\n2\n");
        String[] parts = caseText.split("\\|");
        String[] args = ("simulate " + parts[0].replace(" T", " " + t)).split(" ");
        CliRun r = CliRun.of(args);
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).isEqualTo("gemshrink: simulate: " + parts[1] + "\nTry 'gemshrink simulate --help'.\n");
        assertThat(r.out()).as("nothing ran").isEmpty();
    }

    /** The message lists every built-in policy, so a policy added to the list needs no edit here. */
    @ParameterizedTest
    @ValueSource(strings = {"--workload trace --trace T --capacity 4 --policy mru",
        "--workload trace --trace T --capacity 4 --compare lru,fifo", "--workload browser --policy LRU",
        "--workload compute --compare lru,mru"})
    void anUnknownPolicyIsAUsageErrorNamingTheBuiltIns(String options) throws Exception {
        Path t = file("t.txt", "1\n2\n");
        String[] args = ("simulate " + options.replace(" T", " " + t)).split(" ");
        String unknown = args[args.length - 1].replaceAll(".*,", "");
        CliRun r = CliRun.of(args);
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).isEqualTo("gemshrink: simulate: unknown policy '" + unknown + "' (" + ReclaimPolicy
                .builtIns().stream().map(ReclaimPolicy::name).collect(Collectors.joining(", "))
                + ")\nTry 'gemshrink simulate --help'.\n");
        assertThat(r.out()).as("nothing ran").isEmpty();
    }

    /** {@code --compare} of every built-in policy prints one line per policy, in the order given. */
    @Test
    void compareReplaysEveryBuiltInPolicyInTheOrderGiven() throws Exception {
        Path zipf = shipped("zipf.txt");
        AccessTrace trace;
        try (Reader in = Files.newBufferedReader(zipf)) {
            trace = AccessTrace.parse(in);
        }
        List<ReclaimPolicy> reversed = new ArrayList<>(ReclaimPolicy.builtIns());
        Collections.reverse(reversed);
        CliRun r = CliRun.of("simulate", "--workload", "trace", "--trace", zipf.toString(), "--capacity", "64",
                "--compare", reversed.stream().map(ReclaimPolicy::name).collect(Collectors.joining(",")));
        assertThat(r.exit()).as("%s", r).isZero();
        List<String> expected = new ArrayList<>();
        expected.add("simulate: workload=trace trace=" + zipf + " requests=3000 capacity=64 pages");
        for (ReclaimPolicy p : reversed) {
            expected.add(AccessTraceReplay.run(trace, p, 64).line());
        }
        expected.add("simulate: ok");
        assertThat(r.outLines()).containsExactlyElementsOf(expected);
        for (int i = 1; i < expected.size() - 1; i++) {
            assertThat(expected.get(i)).matches("policy=" + reversed.get(i - 1).name()
                    + " requests=3000 misses=\\d+ miss_ratio=[01]\\.\\d{4}");
        }
    }

    @Test
    void helpNamesTheTraceOptions() {
        CliRun r = CliRun.of("simulate", "--help");
        assertThat(r.out()).contains("--trace=FILE", "--capacity=N", "--policy=P", "--compare=P1,P2,...",
                "trace: replay the object accesses", "the reclaim policy: " + ReclaimPolicy.builtIns().stream()
                        .map(ReclaimPolicy::name).collect(Collectors.joining(", ")));
    }
}
