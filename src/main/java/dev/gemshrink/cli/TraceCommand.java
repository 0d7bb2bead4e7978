package dev.gemshrink.cli;

import java.util.List;

/**
 * One parsed command of a trace (format v1): where it was written and what it says, with its arguments already
 * checked and converted. Parsing never touches a device; {@link ReplayExecutor} runs the commands.
 */
sealed interface TraceCommand {
    /**
     * Returns the line number in the trace file (1-based).
     *
     * @return the line
     */
    int line();

    /**
     * Returns the command as written: the line without its comment, trimmed.
     *
     * @return the text
     */
    String text();

    /**
     * {@code device [driver=panfrost|panthor] [ram=SIZE] [swap=SIZE]}: the driver and the device's memory (only as
     * the first command).
     */
    record Device(int line, String text, long ramBytes, long swapBytes, boolean panthor) implements TraceCommand {
    }

    /** {@code ctx C}: opens a client. */
    record Ctx(int line, String text, String ctx) implements TraceCommand {
    }

    /** {@code bo B C SIZE [heap] [noexec]}: creates a BO owned by client C and opens it there. */
    record CreateBo(int line, String text, String bo, String ctx, long size, boolean heap, boolean noexec)
            implements TraceCommand {
    }

    /** {@code open B C}: opens an existing BO in another client. */
    record Open(int line, String text, String bo, String ctx) implements TraceCommand {
    }

    /** {@code close B}: drops B's handle in its owner client; the name B is unknown afterwards. */
    record Close(int line, String text, String bo) implements TraceCommand {
    }

    /** The references a trace can take and drop on a BO. */
    enum RefKind {
        /** A page use: {@code get_pages} / {@code put_pages}. */
        PAGES("get_pages", "put_pages", "page use"),
        /** A pin: {@code pin} / {@code unpin}. */
        PIN("pin", "unpin", "pin"),
        /** A CPU mapping: {@code vmap} / {@code vunmap}. */
        VMAP("vmap", "vunmap", "vmap");

        final String take;
        final String drop;
        final String noun;

        RefKind(String take, String drop, String noun) {
            this.take = take;
            this.drop = drop;
            this.noun = noun;
        }
    }

    /** {@code get_pages}, {@code pin}, {@code vmap} (take) or {@code put_pages}, {@code unpin}, {@code vunmap}. */
    record Ref(int line, String text, RefKind kind, boolean take, String bo) implements TraceCommand {
    }

    /** {@code sgt B}: get_pages_sgt. */
    record Sgt(int line, String text, String bo) implements TraceCommand {
    }

    /** {@code madvise B willneed|dontneed}. */
    record Madvise(int line, String text, String bo, boolean willneed) implements TraceCommand {
    }

    /** {@code write B OFFSET LEN BYTE}: CPU writes LEN copies of BYTE at OFFSET. */
    record Write(int line, String text, String bo, long offset, long len, int value) implements TraceCommand {
    }

    /** {@code read B OFFSET LEN}: CPU reads LEN bytes at OFFSET; the result is their CRC32. */
    record Read(int line, String text, String bo, long offset, long len) implements TraceCommand {
    }

    /** {@code submit J C B[,B...]}: submits a held job in client C using those BOs. */
    record Submit(int line, String text, String job, String ctx, List<String> bos) implements TraceCommand {
    }

    /** {@code complete J}: the job finishes and its fence signals. */
    record Complete(int line, String text, String job) implements TraceCommand {
    }

    /** {@code fault C B OFFSET}: the GPU of client C touches heap BO B at OFFSET. */
    record Fault(int line, String text, String ctx, String bo, long offset) implements TraceCommand {
    }

    /** {@code evict B} or {@code purge B}: reclaims B now through the driver's evictor. */
    record Reclaim(int line, String text, String bo, boolean purge) implements TraceCommand {
    }

    /** {@code shrink PAGES}: one scan of the device's shrinker asking for PAGES pages. */
    record Shrink(int line, String text, long pages) implements TraceCommand {
    }

    /** {@code state B}: B's bookkeeping. */
    record State(int line, String text, String bo) implements TraceCommand {
    }

    /** {@code mem}: the device's RAM and swap in use. */
    record Mem(int line, String text) implements TraceCommand {
    }

    /** {@code fdinfo C}: client C's fdinfo memory statistics, in bytes. */
    record FdinfoOf(int line, String text, String ctx) implements TraceCommand {
    }

    /** {@code gems}: the device's table of BOs with its footer. */
    record Gems(int line, String text) implements TraceCommand {
    }

    /** {@code check}: runs the invariant checker. */
    record Check(int line, String text) implements TraceCommand {
    }

    /** {@code vm V C} (panthor): creates VM V of client C. */
    record Vm(int line, String text, String vm, String ctx) implements TraceCommand {
    }

    /**
     * {@code bo B C SIZE [private=V] [discard]} (panthor): creates a BO of client C, private to its VM V or
     * shareable, discard-on-reclaim or not.
     */
    record CreateVmBo(int line, String text, String bo, String ctx, long size, String privateTo, boolean discard)
            implements TraceCommand {
    }

    /** {@code bind V B OFFSET SIZE VA} (panthor): binds SIZE bytes of B from OFFSET at address VA of V. */
    record Bind(int line, String text, String vm, String bo, long offset, long size, long va)
            implements TraceCommand {
    }

    /** {@code unbind V VA SIZE} (panthor): unbinds the range bound at VA of V with SIZE bytes. */
    record Unbind(int line, String text, String vm, long va, long size) implements TraceCommand {
    }

    /** {@code heap H V CHUNK MAXCHUNKS} (panthor): creates a tiler heap of V. */
    record Heap(int line, String text, String heap, String vm, long chunkSize, long maxChunks)
            implements TraceCommand {
    }

    /** {@code grow V H} (panthor): a job of V grows tiler heap H by one chunk. */
    record Grow(int line, String text, String vm, String heap) implements TraceCommand {
    }

    /** {@code submit J V} (panthor): submits a held job on V. */
    record VmSubmit(int line, String text, String job, String vm) implements TraceCommand {
    }

    /** {@code gpu_write V VA LEN BYTE} (panthor): a job of V writes LEN copies of BYTE at VA. */
    record GpuWrite(int line, String text, String vm, long va, long len, int value) implements TraceCommand {
    }

    /** {@code gpu_read V VA LEN} (panthor): a job of V reads LEN bytes at VA; the result is their CRC32. */
    record GpuRead(int line, String text, String vm, long va, long len) implements TraceCommand {
    }

    /** {@code expect TEXT...}: compares the previous command's result with TEXT (its words joined by one space). */
    record Expect(int line, String text, String expected) implements TraceCommand {
    }
}
