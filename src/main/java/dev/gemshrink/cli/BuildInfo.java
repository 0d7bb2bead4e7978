package dev.gemshrink.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * What {@code gemshrink --version} prints: the project version (a resource filtered by Maven), the short git commit
 * of the build (a resource written at build time when the checkout had a {@code .git}; "unknown" otherwise) and the
 * JVM that runs the tool.
 */
final class BuildInfo implements CommandLine.IVersionProvider {
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{4,40}");

    /** Creates the provider (instantiated by picocli). */
    BuildInfo() {
    }

    @Override
    public String[] getVersion() {
        return new String[] {"gemshrink " + version(), "git commit " + commit(), "JVM " + jvm()};
    }

    /**
     * Returns the project version.
     *
     * @return for example {@code 0.1.0-SNAPSHOT}, or "unknown" when the build resource is missing
     */
    static String version() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            return "unknown";
        }
        String v = p.getProperty("version", "unknown");
        return v.startsWith("${") ? "unknown" : v;
    }

    /**
     * Returns the short git commit the tool was built from.
     *
     * @return hex digits, or "unknown"
     */
    static String commit() {
        try (InputStream in = BuildInfo.class.getResourceAsStream("git-commit.txt")) {
            if (in == null) {
                return "unknown";
            }
            String c = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            return COMMIT.matcher(c).matches() ? c : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * Returns the JVM running the tool.
     *
     * @return vendor, name and version
     */
    static String jvm() {
        return System.getProperty("java.vm.vendor", "?") + " " + System.getProperty("java.vm.name", "?") + " "
                + System.getProperty("java.runtime.version", System.getProperty("java.version", "?"));
    }
}
