package dev.gemshrink.cli;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.GemDevice;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.zip.CRC32;

/**
 * What every trace replay does whatever its driver: runs the parsed commands in order, printing
 * {@code N: <command> -> <result>} per command (N is the line number), checks the {@code expect} lines, then cleans
 * up, runs the final check and prints the last line. A driver's replay ({@link ReplayExecutor} for the Panfrost-like
 * driver, {@link PanthorReplayExecutor} for the Panthor-like one) opens its device, executes the other commands and
 * cleans up.
 */
abstract class TraceReplay {
    /** The largest piece of a CPU or GPU read or write done in one call. */
    static final int CHUNK = 1 << 20;

    private final PrintStream out;
    private final PrintStream err;
    /** Violations found by {@code check} commands, internal errors and the final check. */
    final List<String> violations = new ArrayList<>();
    private int commands;
    private int expectsFailed;
    private String previous;

    /** Raised for an internal error: reported as {@code error EFAULT: internal: ...}. */
    static final class Internal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Internal(String message) {
            super(message);
        }
    }

    TraceReplay(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Creates the device with that much RAM and swap (0: none). */
    abstract void openDevice(long ramBytes, long swapBytes);

    /** Runs one command other than {@code device} and {@code expect}; returns its result. */
    abstract String execute(TraceCommand c);

    /** Completes the pending jobs, releases everything the trace holds and closes every client. */
    abstract void releaseAll();

    /** The core device underneath. */
    abstract GemDevice gem();

    /** The invariants of the core and of the driver. */
    abstract List<Violation> checkDevice();

    /** The driver's BOs still alive. */
    abstract List<?> liveBos();

    /** Closes the device. */
    abstract void closeDevice();

    /**
     * Runs the commands, cleans up, and prints the last line.
     *
     * @param trace the parsed trace
     * @return 0 when every expect held and the final check is ok, 1 otherwise, 2 when the device does not fit in
     *         the JVM heap
     */
    final int run(List<TraceCommand> trace) {
        int start = 0;
        TraceCommand.Device config = null;
        if (!trace.isEmpty() && trace.get(0) instanceof TraceCommand.Device) {
            config = (TraceCommand.Device) trace.get(0);
            start = 1;
        }
        long ram = config != null ? config.ramBytes() : 256L << 20;
        long swap = config != null ? config.swapBytes() : 256L << 20;
        String heap = HeapBudget.check(ram, swap, Runtime.getRuntime().maxMemory(),
                "device ram=" + Sizes.format(ram));
        if (heap != null) {
            // An input error, found before anything is allocated (exit 2, like a syntax error).
            err.println("line " + (config != null ? config.line() : 1) + ": " + heap);
            return 2;
        }
        try {
            openDevice(ram, swap);
            if (config != null) {
                report(config, "ok");
            }
        } catch (Throwable t) {
            String what = internal(t);
            if (config != null) {
                report(config, "error EFAULT: internal: " + what);
            }
            violations.add("device: internal: " + what);
            return finish();
        }
        for (int i = start; i < trace.size(); i++) {
            TraceCommand c = trace.get(i);
            if (c instanceof TraceCommand.Expect) {
                expect((TraceCommand.Expect) c);
                continue;
            }
            String result;
            try {
                result = execute(c);
            } catch (GemException e) {
                result = error(e);
            } catch (Throwable t) {
                String what = internal(t);
                result = "error EFAULT: internal: " + what;
                violations.add("line " + c.line() + ": internal: " + what);
            }
            report(c, result);
            previous = result;
        }
        cleanUp();
        return finish();
    }

    private void report(TraceCommand c, String result) {
        commands++;
        out.println(c.line() + ": " + c.text() + " -> " + result);
    }

    private void expect(TraceCommand.Expect e) {
        String got = previous == null ? "ok" : previous;
        String result;
        if (stripMessage(got).equals(stripMessage(e.expected()))) {
            result = "ok";
        } else {
            result = "FAILED (got: " + got + ")";
            expectsFailed++;
        }
        report(e, result);
    }

    /** An error result compares without its {@code : <message>} part. */
    static String stripMessage(String result) {
        if (result.startsWith("error ")) {
            int colon = result.indexOf(':');
            if (colon >= 0) {
                return result.substring(0, colon).strip();
            }
        }
        return result;
    }

    static String error(GemException e) {
        Errno errno = e.errno() == Errno.EDEADLK ? Errno.EBUSY : e.errno();
        return "error " + errno + ": " + oneLine(e.getMessage());
    }

    static String internal(Throwable t) {
        String m = t.getMessage();
        return oneLine(t.getClass().getSimpleName() + (m != null ? ": " + m : ""));
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }

    /** The {@code check} command's result; each violation also counts for the final check. */
    final String check(List<Violation> v) {
        if (v.isEmpty()) {
            return "ok";
        }
        for (Violation x : v) {
            violations.add("check: " + x);
        }
        return "violations=" + v.size() + ": " + v.get(0);
    }

    /** Writes {@code len} copies of {@code value} from {@code at}, a chunk at a time (once, empty, when len is 0). */
    static void fill(long at, long len, int value, BiConsumer<Long, byte[]> write) {
        byte[] chunk = new byte[(int) Math.min(CHUNK, Math.max(len, 0))];
        Arrays.fill(chunk, (byte) value);
        if (len == 0) {
            write.accept(at, chunk);
        }
        for (long done = 0; done < len; ) {
            int n = (int) Math.min(chunk.length, len - done);
            write.accept(at + done, n == chunk.length ? chunk : Arrays.copyOf(chunk, n));
            done += n;
        }
    }

    /** Reads {@code len} bytes from {@code at}, a chunk at a time, and returns {@code crc32=xxxxxxxx}. */
    static String crc(long at, long len, BiConsumer<Long, byte[]> read) {
        CRC32 crc = new CRC32();
        byte[] chunk = new byte[(int) Math.min(CHUNK, len)];
        if (len == 0) {
            read.accept(at, chunk);
        }
        for (long done = 0; done < len; ) {
            int n = (int) Math.min(chunk.length, len - done);
            byte[] buf = n == chunk.length ? chunk : new byte[n];
            read.accept(at + done, buf);
            crc.update(buf, 0, n);
            done += n;
        }
        return String.format(Locale.ROOT, "crc32=%08x", crc.getValue());
    }

    /** The {@code mem} command's result: RAM and swap in use, in pages. */
    static String mem(GemDevice g) {
        return "ram_used=" + g.pool().usedPages() + " swap_used=" + g.swap().usedPages();
    }

    /** Refuses (EINVAL) a range outside an object of {@code size} bytes. */
    static void checkRange(String name, long size, long offset, long len) {
        if (offset < 0 || len < 0 || offset > size || len > size - offset) {
            throw new GemException(Errno.EINVAL, "range [" + offset + ", +" + len + ") is outside " + name + " of "
                    + size + " bytes");
        }
    }

    /**
     * The end: releases everything, then requires no invariant violation, no page in RAM or swap, no object and no
     * BO left; closes the device whatever happened.
     */
    private void cleanUp() {
        try {
            releaseAll();
            for (Violation v : checkDevice()) {
                violations.add("final: " + v);
            }
            int ram = gem().pool().usedPages();
            long swap = gem().swap().usedPages();
            if (ram != 0 || swap != 0) {
                violations.add("final: memory left: ram_used=" + ram + " swap_used=" + swap);
            }
            if (!gem().objects().isEmpty()) {
                violations.add("final: objects left: " + gem().objects());
            }
            if (!liveBos().isEmpty()) {
                violations.add("final: BOs left: " + liveBos());
            }
        } catch (Throwable t) {
            violations.add("final: internal: " + internal(t));
        } finally {
            try {
                closeDevice();
            } catch (Throwable t) {
                violations.add("final: internal: closing the device: " + internal(t));
            }
        }
    }

    private int finish() {
        String check = violations.isEmpty() ? "ok" : "violations=" + violations.size() + ": " + violations.get(0);
        for (String v : violations) {
            err.println("violation: " + v);
        }
        out.println("replay: " + commands + " commands, " + expectsFailed + " expects failed, final check " + check);
        return expectsFailed == 0 && violations.isEmpty() ? 0 : 1;
    }
}
