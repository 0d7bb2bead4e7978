package dev.gemshrink.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.reclaim.ReclaimPolicy;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ctrl-C during {@code simulate}: the tool runs in its own JVM, is sent SIGINT once its first status line is out,
 * and must still print the summary of what ran, write the report and remove its swap file. With {@code --compare}
 * of every built-in policy, the runs after the interrupted one do not start.
 */
class SimulateShutdownTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "compare {0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aSignalEndsTheRunWithASummaryAReportAndNoSwapFile(boolean compare) throws Exception {
        Path swap = tmp.resolve("swap.bin");
        Path report = tmp.resolve("report.html");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "-cp", cp, Main.class.getName(),
                "simulate", "--seconds", "600", "--threads", "2", "--ram", "8MiB", "--swap", "16MiB", "--swap-file",
                swap.toString(), "--report", report.toString(), "--seed", "1"));
        if (compare) {
            command.addAll(List.of("--compare", ReclaimPolicy.builtIns().stream().map(ReclaimPolicy::name)
                    .collect(Collectors.joining(","))));
        }
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectError(tmp.resolve("stderr.txt").toFile());
        Process p = pb.start();
        StringBuilder out = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            boolean signalled = false;
            while ((line = r.readLine()) != null) {
                out.append(line).append('\n');
                if (!signalled && line.startsWith("[")) {
                    assertThat(swap).exists();
                    // Ctrl-C; Process.destroy would close this stream as well as send SIGTERM.
                    assertThat(new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor())
                            .isZero();
                    signalled = true;
                }
            }
            assertThat(signalled).as("a status line was printed:\n%s", out).isTrue();
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        String stderr = Files.readString(tmp.resolve("stderr.txt"));
        assertThat(out.toString()).as("%s\n%s", out, stderr)
                .contains("simulate: stopped by a signal; the summary covers what ran", "summary: ",
                        "integrity failures", "simulate: ok", "report: " + report);
        assertThat(out.toString().lines().filter(l -> l.startsWith("summary: "))).as("one run only").hasSize(1);
        assertThat(Files.readString(report)).startsWith("<!DOCTYPE html>").endsWith("</html>\n");
        assertThat(swap).doesNotExist();
    }
}
