package dev.gemshrink.cli;

import dev.gemshrink.sim.TraceSyntaxException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses a trace ({@code docs/trace-format.md}) into {@link TraceCommand}s. A first command
 * {@code device driver=panthor} selects the Panthor-like driver's commands; without it the trace is for the
 * Panfrost-like driver, as in format v1. The whole trace is parsed
 * before anything runs; every syntax error is counted and the first {@value TraceSyntaxException#MAX_ERRORS} are
 * kept as {@code line N: <reason>}.
 *
 * <p>Syntax: one command per line; {@code #} starts a comment (anywhere on a line); blank lines are ignored; words
 * are separated by spaces or tabs. Names match {@code [A-Za-z_][A-Za-z0-9_.-]*}.
 */
final class TraceParser {
    /** What a name must look like. */
    static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]*");
    private static final Pattern WORDS = Pattern.compile("[ \t]+");
    /** The largest RAM budget a trace may ask for. */
    static final long MAX_RAM = 16L << 30;
    /** The commands only a Panthor trace has. */
    private static final Set<String> PANTHOR_ONLY = Set.of("vm", "bind", "unbind", "heap", "grow", "gpu_read",
            "gpu_write");
    /** The Panfrost commands a Panthor trace does not have: its driver has no madvise, pins or heap faults. */
    private static final Set<String> PANFROST_ONLY = Set.of("open", "sgt", "madvise", "fault", "purge", "fdinfo",
            "gems", "get_pages", "put_pages", "pin", "unpin", "vmap", "vunmap");

    private TraceParser() {
    }

    /** A syntax error found in one line. */
    private static final class Bad extends Exception {
        private static final long serialVersionUID = 1L;

        Bad(String reason) {
            super(reason, null, false, false);
        }
    }

    /**
     * Parses a whole trace.
     *
     * @param lines the file's lines
     * @return the commands, in order
     * @throws TraceSyntaxException when any line has a syntax error
     */
    static List<TraceCommand> parse(List<String> lines) throws TraceSyntaxException {
        List<TraceCommand> out = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        long errorCount = 0;
        boolean first = true;
        boolean sawCommand = false;
        boolean panthor = false;
        for (int i = 0; i < lines.size(); i++) {
            int lineNo = i + 1;
            String raw = lines.get(i);
            int hash = raw.indexOf('#');
            String text = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            if (text.isEmpty()) {
                continue;
            }
            String[] w = WORDS.split(text);
            try {
                if (w[0].equals("device") && !first) {
                    throw new Bad("device must be the first command");
                }
                if (w[0].equals("expect") && !sawCommand) {
                    throw new Bad("expect needs a command before it");
                }
                TraceCommand c = parseLine(lineNo, text, w, panthor);
                if (c instanceof TraceCommand.Device d) {
                    panthor = d.panthor();
                }
                out.add(c);
            } catch (Bad e) {
                if (errorCount++ < TraceSyntaxException.MAX_ERRORS) {
                    errors.add("line " + lineNo + ": " + e.getMessage());
                }
            }
            first = false;
            sawCommand = true;
        }
        if (errorCount > 0) {
            throw new TraceSyntaxException(errors, errorCount);
        }
        return out;
    }

    private static TraceCommand parseLine(int n, String t, String[] w, boolean panthor) throws Bad {
        String verb = w[0];
        if (!panthor && PANTHOR_ONLY.contains(verb)) {
            throw new Bad(verb + " needs device driver=panthor");
        }
        if (panthor) {
            if (PANFROST_ONLY.contains(verb)) {
                throw new Bad(verb + " is not a command of driver=panthor");
            }
            TraceCommand c = panthorLine(n, t, w);
            if (c != null) {
                return c;
            }
        }
        switch (verb) {
            case "device":
                return device(n, t, w);
            case "ctx":
                arity(w, 2, "ctx C");
                return new TraceCommand.Ctx(n, t, name(w[1]));
            case "bo":
                return bo(n, t, w);
            case "open":
                arity(w, 3, "open B C");
                return new TraceCommand.Open(n, t, name(w[1]), name(w[2]));
            case "close":
                arity(w, 2, "close B");
                return new TraceCommand.Close(n, t, name(w[1]));
            case "sgt":
                arity(w, 2, "sgt B");
                return new TraceCommand.Sgt(n, t, name(w[1]));
            case "madvise":
                arity(w, 3, "madvise B willneed|dontneed");
                if (!w[2].equals("willneed") && !w[2].equals("dontneed")) {
                    throw new Bad("madvise takes willneed or dontneed, not '" + w[2] + "'");
                }
                return new TraceCommand.Madvise(n, t, name(w[1]), w[2].equals("willneed"));
            case "write":
                arity(w, 5, "write B OFFSET LEN BYTE");
                return new TraceCommand.Write(n, t, name(w[1]), size(w[2]), size(w[3]), byteValue(w[4]));
            case "read":
                arity(w, 4, "read B OFFSET LEN");
                return new TraceCommand.Read(n, t, name(w[1]), size(w[2]), size(w[3]));
            case "submit":
                arity(w, 4, "submit J C B[,B...]");
                return new TraceCommand.Submit(n, t, name(w[1]), name(w[2]), boList(w[3]));
            case "complete":
                arity(w, 2, "complete J");
                return new TraceCommand.Complete(n, t, name(w[1]));
            case "fault":
                arity(w, 4, "fault C B OFFSET");
                return new TraceCommand.Fault(n, t, name(w[1]), name(w[2]), size(w[3]));
            case "evict":
            case "purge":
                arity(w, 2, verb + " B");
                return new TraceCommand.Reclaim(n, t, name(w[1]), verb.equals("purge"));
            case "shrink":
                arity(w, 2, "shrink PAGES");
                return new TraceCommand.Shrink(n, t, count(w[1]));
            case "state":
                arity(w, 2, "state B");
                return new TraceCommand.State(n, t, name(w[1]));
            case "mem":
                arity(w, 1, "mem");
                return new TraceCommand.Mem(n, t);
            case "fdinfo":
                arity(w, 2, "fdinfo C");
                return new TraceCommand.FdinfoOf(n, t, name(w[1]));
            case "gems":
                arity(w, 1, "gems");
                return new TraceCommand.Gems(n, t);
            case "check":
                arity(w, 1, "check");
                return new TraceCommand.Check(n, t);
            case "expect":
                if (w.length < 2) {
                    throw new Bad("expect needs the expected result: expect TEXT...");
                }
                return new TraceCommand.Expect(n, t, String.join(" ", Arrays.asList(w).subList(1, w.length)));
            default:
                for (TraceCommand.RefKind k : TraceCommand.RefKind.values()) {
                    if (verb.equals(k.take) || verb.equals(k.drop)) {
                        arity(w, 2, verb + " B");
                        return new TraceCommand.Ref(n, t, k, verb.equals(k.take), name(w[1]));
                    }
                }
                throw new Bad("unknown command '" + verb + "'");
        }
    }

    /** The commands whose syntax differs with driver=panthor; null for the others (parsed as in format v1). */
    private static TraceCommand panthorLine(int n, String t, String[] w) throws Bad {
        switch (w[0]) {
            case "vm":
                arity(w, 3, "vm V C");
                return new TraceCommand.Vm(n, t, name(w[1]), name(w[2]));
            case "bo":
                return vmBo(n, t, w);
            case "bind":
                arity(w, 6, "bind V B OFFSET SIZE VA");
                return new TraceCommand.Bind(n, t, name(w[1]), name(w[2]), size(w[3]), size(w[4]), size(w[5]));
            case "unbind":
                arity(w, 4, "unbind V VA SIZE");
                return new TraceCommand.Unbind(n, t, name(w[1]), size(w[2]), size(w[3]));
            case "heap":
                arity(w, 5, "heap H V CHUNK MAXCHUNKS");
                return new TraceCommand.Heap(n, t, name(w[1]), name(w[2]), size(w[3]), count(w[4]));
            case "grow":
                arity(w, 3, "grow V H");
                return new TraceCommand.Grow(n, t, name(w[1]), name(w[2]));
            case "submit":
                arity(w, 3, "submit J V");
                return new TraceCommand.VmSubmit(n, t, name(w[1]), name(w[2]));
            case "gpu_write":
                arity(w, 5, "gpu_write V VA LEN BYTE");
                return new TraceCommand.GpuWrite(n, t, name(w[1]), size(w[2]), size(w[3]), byteValue(w[4]));
            case "gpu_read":
                arity(w, 4, "gpu_read V VA LEN");
                return new TraceCommand.GpuRead(n, t, name(w[1]), size(w[2]), size(w[3]));
            default:
                return null;
        }
    }

    private static TraceCommand vmBo(int n, String t, String[] w) throws Bad {
        if (w.length < 4 || w.length > 6) {
            throw new Bad("wrong number of words: bo B C SIZE [private=V] [discard]");
        }
        String privateTo = null;
        boolean discard = false;
        for (int i = 4; i < w.length; i++) {
            if (w[i].startsWith("private=") && privateTo == null) {
                privateTo = name(w[i].substring("private=".length()));
            } else if (w[i].equals("discard") && !discard) {
                discard = true;
            } else {
                throw new Bad("bo flags with driver=panthor are private=V and discard (each at most once), not '"
                        + w[i] + "'");
            }
        }
        return new TraceCommand.CreateVmBo(n, t, name(w[1]), name(w[2]), size(w[3]), privateTo, discard);
    }

    private static TraceCommand device(int n, String t, String[] w) throws Bad {
        long ram = -1;
        long swap = -1;
        String driver = null;
        for (int i = 1; i < w.length; i++) {
            String[] kv = w[i].split("=", 2);
            if (kv.length == 2 && kv[0].equals("driver")) {
                if (driver != null) {
                    throw new Bad("device: driver given twice");
                }
                if (!kv[1].equals("panfrost") && !kv[1].equals("panthor")) {
                    throw new Bad("device: driver is panfrost or panthor, not '" + kv[1] + "'");
                }
                driver = kv[1];
                continue;
            }
            if (kv.length != 2 || !(kv[0].equals("ram") || kv[0].equals("swap"))) {
                throw new Bad("device takes driver=NAME, ram=SIZE and swap=SIZE, not '" + w[i] + "'");
            }
            long v = size(kv[1]);
            if (kv[0].equals("ram")) {
                if (ram >= 0) {
                    throw new Bad("device: ram given twice");
                }
                if (v < 4096 || v > MAX_RAM) {
                    throw new Bad("device: ram must be 4KiB..16GiB, not " + kv[1]);
                }
                ram = v;
            } else {
                if (swap >= 0) {
                    throw new Bad("device: swap given twice");
                }
                swap = v;
            }
        }
        return new TraceCommand.Device(n, t, ram >= 0 ? ram : 256L << 20, swap >= 0 ? swap : 256L << 20,
                "panthor".equals(driver));
    }

    private static TraceCommand bo(int n, String t, String[] w) throws Bad {
        if (w.length < 4 || w.length > 6) {
            throw new Bad("wrong number of words: bo B C SIZE [heap] [noexec]");
        }
        boolean heap = false;
        boolean noexec = false;
        for (int i = 4; i < w.length; i++) {
            if (w[i].equals("heap") && !heap) {
                heap = true;
            } else if (w[i].equals("noexec") && !noexec) {
                noexec = true;
            } else {
                throw new Bad("bo flags are heap and noexec (each at most once), not '" + w[i] + "'");
            }
        }
        return new TraceCommand.CreateBo(n, t, name(w[1]), name(w[2]), size(w[3]), heap, noexec);
    }

    private static List<String> boList(String s) throws Bad {
        List<String> out = new ArrayList<>();
        for (String b : s.split(",", -1)) {
            out.add(name(b));
        }
        return List.copyOf(out);
    }

    private static void arity(String[] w, int n, String usage) throws Bad {
        if (w.length != n) {
            throw new Bad("wrong number of words: " + usage);
        }
    }

    private static String name(String s) throws Bad {
        if (!NAME.matcher(s).matches()) {
            throw new Bad("bad name '" + s + "' (names match [A-Za-z_][A-Za-z0-9_.-]*)");
        }
        return s;
    }

    private static long size(String s) throws Bad {
        try {
            return Sizes.parseSize(s);
        } catch (NumberFormatException e) {
            throw new Bad(e.getMessage());
        }
    }

    private static long count(String s) throws Bad {
        try {
            return Sizes.parseCount(s);
        } catch (NumberFormatException e) {
            throw new Bad(e.getMessage());
        }
    }

    private static int byteValue(String s) throws Bad {
        try {
            return Sizes.parseByte(s);
        } catch (NumberFormatException e) {
            throw new Bad(e.getMessage());
        }
    }
}
