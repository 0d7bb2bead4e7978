package dev.gemshrink.cli;

import dev.gemshrink.sim.TraceSyntaxException;
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

/**
 * How the commands read a trace file and report its syntax errors: strict UTF-8, a leading byte-order mark dropped,
 * {@code -} for standard input; the first {@value TraceSyntaxException#MAX_ERRORS} errors printed, then a count of
 * the rest.
 */
final class TraceInput {
    private static final char BOM = '\uFEFF';

    private TraceInput() {
    }

    /**
     * Returns how messages name the file.
     *
     * @param file the path as given, or {@code -}
     * @return the path, or {@code standard input}
     */
    static String displayName(String file) {
        return file.equals("-") ? "standard input" : file;
    }

    /**
     * Reads the whole file as strict UTF-8, without a leading byte-order mark.
     *
     * @param io   where {@code -} reads from
     * @param file the path, or {@code -}
     * @return the text
     * @throws UsageException when the file is missing, unreadable, a directory or not UTF-8
     */
    static String readText(Console io, String file) throws UsageException {
        String name = displayName(file);
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
        return text;
    }

    /**
     * Prints the syntax errors kept, a count of the others, and {@code gemshrink: COMMAND: NAME: N syntax errors;
     * nothing ran}.
     *
     * @param io      where to print
     * @param command the command's name
     * @param file    the path, or {@code -}
     * @param e       the errors
     * @return the exit status for a usage or input error
     */
    static int reportSyntaxErrors(Console io, String command, String file, TraceSyntaxException e) {
        for (String line : e.errors()) {
            io.err().println(line);
        }
        if (e.total() > e.errors().size()) {
            io.err().println("... and " + (e.total() - e.errors().size()) + " more");
        }
        io.error(command + ": " + displayName(file) + ": " + e.total()
                + (e.total() == 1 ? " syntax error" : " syntax errors") + "; nothing ran");
        return Main.USAGE;
    }
}
