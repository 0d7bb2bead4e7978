package dev.gemshrink.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code gemshrink replay FILE}: reads a trace (format v1; UTF-8, a byte-order mark allowed; {@code -} for standard
 * input), refuses it whole when any line has a syntax error (the first {@value TraceParser#MAX_ERRORS} errors are
 * printed, then a count of the rest), and otherwise runs it.
 */
@Command(name = "replay", mixinStandardHelpOptions = true, versionProvider = BuildInfo.class,
        description = {"Run a trace of driver calls (format v1, see docs/trace-format.md) and print each command's "
                + "result.", "Exit 0 when every expect held and the final check is clean, 1 otherwise, 2 on a "
                + "syntax error or an unreadable or empty trace."})
final class ReplayCommand implements Callable<Integer> {
    private static final char BOM = '\uFEFF';

    private final Console io;

    @Parameters(paramLabel = "FILE", description = "the trace file; - reads standard input")
    private String file;

    ReplayCommand(Console io) {
        this.io = io;
    }

    @Override
    public Integer call() throws UsageException {
        String name = file.equals("-") ? "standard input" : file;
        List<String> lines = read(name);
        List<TraceCommand> trace;
        try {
            trace = TraceParser.parse(lines);
        } catch (TraceSyntaxException e) {
            for (String line : e.errors()) {
                io.err().println(line);
            }
            if (e.total() > e.errors().size()) {
                io.err().println("... and " + (e.total() - e.errors().size()) + " more");
            }
            io.error("replay: " + name + ": " + e.total() + (e.total() == 1 ? " syntax error" : " syntax errors")
                    + "; nothing ran");
            return Main.USAGE;
        }
        if (trace.isEmpty()) {
            throw new UsageException("" + name + ": no commands");
        }
        return new ReplayExecutor(io.out(), io.err()).run(trace);
    }

    /** Reads the whole trace as strict UTF-8 and splits it into lines, without a leading byte-order mark. */
    private List<String> read(String name) throws UsageException {
        byte[] bytes;
        try {
            bytes = file.equals("-") ? io.in().readAllBytes() : Files.readAllBytes(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new UsageException("cannot read " + name + ": no such file");
        } catch (AccessDeniedException e) {
            throw new UsageException("cannot read " + name + ": permission denied");
        } catch (InvalidPathException e) {
            throw new UsageException("cannot read " + name + ": bad path");
        } catch (IOException e) {
            if (!file.equals("-") && Files.isDirectory(Path.of(file))) {
                throw new UsageException("cannot read " + name + ": is a directory");
            }
            throw new UncheckedIOException("cannot read " + name + ": " + e.getMessage(), e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new UsageException("cannot read " + name + ": not UTF-8 text");
        }
        if (!text.isEmpty() && text.charAt(0) == BOM) {
            text = text.substring(1);
        }
        return text.lines().toList();
    }
}
