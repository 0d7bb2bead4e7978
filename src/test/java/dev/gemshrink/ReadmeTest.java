package dev.gemshrink;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.testing.CapturedLog;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.spi.ToolProvider;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;

/**
 * The README's API tour compiles and runs as printed: its one {@code java} block is wrapped in a {@code main}
 * method with the imports the README names, compiled against the library, and run; it must print the fdinfo text and
 * end with two empty invariant checks (everything it took, it released).
 */
class ReadmeTest {
    /** The imports the README says the tour needs. */
    private static final List<String> IMPORTS = List.of("dev.gemshrink.core.*", "dev.gemshrink.checking.*",
            "dev.gemshrink.panfrost.*", "dev.gemshrink.locking.AcquireContext", "dev.gemshrink.memory.SwapStore",
            "java.util.*", "java.util.concurrent.TimeUnit");

    @TempDir
    Path tmp;

    /** The text of the README's only {@code java} block. */
    static String javaBlock(String readme) {
        int open = readme.indexOf("```java\n");
        assertThat(open).as("a ```java block in README.md").isNotNegative();
        int start = open + "```java\n".length();
        int end = readme.indexOf("```", start);
        assertThat(readme.indexOf("```java\n", end)).as("only one ```java block").isNegative();
        return readme.substring(start, end);
    }

    @Test
    void theReadmeNamesTheImportsThisTestUses() throws IOException {
        String readme = Files.readString(Path.of("README.md"), StandardCharsets.UTF_8).replaceAll("\\s+", " ");
        for (String i : IMPORTS) {
            assertThat(readme).contains("`" + i + "`");
        }
    }

    @Test
    void theApiTourCompilesRunsAndEndsWithEmptyChecks() throws Exception {
        String block = javaBlock(Files.readString(Path.of("README.md"), StandardCharsets.UTF_8));
        StringBuilder src = new StringBuilder();
        for (String i : IMPORTS) {
            src.append("import ").append(i).append(";\n");
        }
        src.append("public class ReadmeTour {\n    public static void main(String[] args) throws Exception {\n")
                .append(block).append("    }\n}\n");
        Path file = tmp.resolve("ReadmeTour.java");
        Files.writeString(file, src, StandardCharsets.UTF_8);

        Path classes = Files.createDirectory(tmp.resolve("classes"));
        compile(file, classes);
        String out = run(classes);

        assertThat(out).contains("drm-driver:\tpanfrost\n", "drm-client-id:\t1\n", "drm-total-memory:\t8 MiB\n",
                "drm-resident-memory:\t2 MiB\n", "\nheap ");
        List<String> lines = out.lines().toList();
        assertThat(lines.get(0)).as("the core device's check").isEqualTo("[]");
        assertThat(lines.get(lines.size() - 1)).as("the driver's check, after everything was released")
                .isEqualTo("[]");
    }

    /** Compiles with the JDK's javac (found as a tool: the library's module need not read java.compiler). */
    private static void compile(Path file, Path classes) throws URISyntaxException {
        ToolProvider javac = ToolProvider.findFirst("javac").orElseThrow(() -> new AssertionError("no javac"));
        String classPath = location(GemDevice.class) + File.pathSeparator + location(Logger.class);
        StringWriter messages = new StringWriter();
        try (PrintWriter w = new PrintWriter(messages)) {
            int status = javac.run(w, w, "--release", "17", "-proc:none", "-classpath", classPath, "-d",
                    classes.toString(), file.toString());
            w.flush();
            assertThat(status).as("the tour compiles:%n%s", messages).isZero();
        }
    }

    private static String location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    /** Runs the tour's main with the library from this class loader; returns what it printed. */
    private static String run(Path classes) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        List<Throwable> failure = new ArrayList<>();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                ReadmeTest.class.getClassLoader())) {
            Method main = loader.loadClass("ReadmeTour").getMethod("main", String[].class);
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            try (CapturedLog log = CapturedLog.of(ShmemObject.class)) {
                try {
                    main.invoke(null, (Object) new String[0]);
                } catch (ReflectiveOperationException e) {
                    failure.add(e.getCause() != null ? e.getCause() : e);
                }
                // The tour frees an object while a page use is still held, to show the leak report: that warns.
                assertThat(log.messages(Level.WARN)).as("the tour's one expected leak warning")
                        .singleElement(InstanceOfAssertFactories.STRING).contains("freed with live owners");
            } finally {
                System.setOut(saved);
            }
        }
        assertThat(failure).as("the tour runs without throwing").isEmpty();
        return buf.toString(StandardCharsets.UTF_8);
    }
}
