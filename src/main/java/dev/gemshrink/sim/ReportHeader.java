package dev.gemshrink.sim;

import java.time.Instant;
import java.util.Objects;

/**
 * What the top of an {@link HtmlReport} says about how the report was made.
 *
 * @param title       the page title
 * @param commandLine the command that made the runs, or empty
 * @param version     the version of the tool or library, or empty
 * @param date        when the report was made
 * @param jvm         the JVM the runs ran on
 */
public record ReportHeader(String title, String commandLine, String version, Instant date, String jvm) {
    /**
     * Checks the fields.
     *
     * @param title       the page title
     * @param commandLine the command that made the runs, or empty
     * @param version     the version of the tool or library, or empty
     * @param date        when the report was made
     * @param jvm         the JVM the runs ran on
     * @throws NullPointerException when a field is null
     */
    public ReportHeader {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(commandLine, "commandLine");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(date, "date");
        Objects.requireNonNull(jvm, "jvm");
    }

    /**
     * A header with a title, made now on this JVM, with no command line or version.
     *
     * @param title the page title
     * @return the header
     */
    public static ReportHeader of(String title) {
        return new ReportHeader(title, "", "", Instant.now(), thisJvm());
    }

    /**
     * Returns a copy with the command line and version of a tool.
     *
     * @param commandLine the command
     * @param version     the version
     * @return the new header
     */
    public ReportHeader withCommand(String commandLine, String version) {
        return new ReportHeader(title, commandLine, version, date, jvm);
    }

    /**
     * Describes the running JVM.
     *
     * @return vendor, name and version
     */
    public static String thisJvm() {
        return System.getProperty("java.vm.vendor", "?") + " " + System.getProperty("java.vm.name", "?") + " "
                + System.getProperty("java.runtime.version", System.getProperty("java.version", "?"));
    }
}
