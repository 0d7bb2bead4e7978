package dev.gemshrink.core;

import dev.gemshrink.memory.SwapSlots;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Reference tracking, one per device under {@link LeakDetection#PARANOID} (the kernel's {@code ref_tracker}): every
 * +1 and -1 of an object's page use, pin, vmap and export counts, fast paths included, is recorded where the count
 * moves, with the stack of its site. A +1 stays recorded until a -1 undoes it; the owner created for it is attached
 * afterwards and marks the transition it will undo when it is released. So a count moved on a path that creates no
 * owner, or an owner dropped without release, leaves a transition behind that names where it happened. It also
 * records each swap receipt an object was given, until the store has released it.
 *
 * <p>Locking: each object's log is guarded by its own monitor (a leaf: nothing is called while holding it); the map
 * of logs is concurrent. Costs a stack walk per transition; with tracking off nothing of this runs.
 */
final class RefTracker {
    /** Frames kept per transition: the site and the callers above it. */
    static final int STACK_DEPTH = 8;
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    private static final Predicate<StackWalker.StackFrame> BOOKKEEPING = f -> bookkeeping(f.getDeclaringClass());

    private final Map<ShmemObject, Log> logs = new ConcurrentHashMap<>();

    /** One open transition. */
    private static final class Entry {
        final RefKind ref;
        final int delta;
        final Thread thread;
        final StackWalker.StackFrame[] stack;
        Owner owner; // guarded by the log: attached after the +1 by the thread that made it
        Thread releaser; // guarded by the log: the thread releasing the owner, whose -1 undoes this entry

        Entry(RefKind ref, int delta, Owner owner) {
            this.ref = ref;
            this.delta = delta;
            this.owner = owner;
            this.thread = Thread.currentThread();
            this.stack = capture();
        }
    }

    /** A swap receipt an object was given, and where. */
    private record Receipt(SwapSlots slots, StackWalker.StackFrame[] stack) {
    }

    /** One object's open transitions and receipts; guarded by its own monitor. */
    private static final class Log {
        final List<Entry> entries = new ArrayList<>();
        final List<Receipt> receipts = new ArrayList<>();
    }

    /**
     * Whether a frame belongs to the object's own bookkeeping and so is not a site: the object, its owners, the
     * permit an evictor reclaims through and the core's own evictor and shrinker, this tracker, and the JDK below
     * them. Every other frame is a site: a driver (so a broken driver path is named), an evictor, a test, a user.
     */
    static boolean bookkeeping(Class<?> frame) {
        Class<?> c = frame.getNestHost();
        return c == ShmemObject.class || Owner.class.isAssignableFrom(c) || c == ReclaimPermit.class
                || c == ShmemEvictor.class || c == GemShrinker.class
                || c == RefTracker.class || c.getName().startsWith("java.") || c.getName().startsWith("jdk.");
    }

    /**
     * The site and the frames above it, skipping the bookkeeping frames below it. Kept as frames: they become stack
     * trace elements (the expensive part) only when a report asks for them.
     */
    static StackWalker.StackFrame[] capture() {
        return WALKER.walk(s -> s.dropWhile(BOOKKEEPING).limit(STACK_DEPTH).toArray(StackWalker.StackFrame[]::new));
    }

    private static List<StackTraceElement> elements(StackWalker.StackFrame[] stack) {
        List<StackTraceElement> out = new ArrayList<>(stack.length);
        for (StackWalker.StackFrame f : stack) {
            out.add(f.toStackTraceElement());
        }
        return out;
    }

    private Log log(ShmemObject o) {
        return logs.computeIfAbsent(o, k -> new Log());
    }

    /**
     * Records a count of {@code o} moving by {@code delta}. A -1 undoes the transition of the owner this thread is
     * releasing; a -1 with none is kept, unmatched.
     */
    void counted(ShmemObject o, RefKind ref, int delta) {
        Log log = log(o);
        synchronized (log) {
            if (delta < 0) {
                Thread me = Thread.currentThread();
                for (Iterator<Entry> it = log.entries.iterator(); it.hasNext(); ) {
                    Entry e = it.next();
                    if (e.ref == ref && e.releaser == me) {
                        it.remove();
                        return;
                    }
                }
            }
            log.entries.add(new Entry(ref, delta, null));
        }
    }

    /**
     * Attaches a new owner to the +1 this thread just made on its count; an owner with no such +1 is recorded as a
     * transition of its own (an owner that took no count).
     */
    void owned(Owner owner) {
        Log log = log(owner.obj);
        synchronized (log) {
            Thread me = Thread.currentThread();
            for (int i = log.entries.size() - 1; i >= 0; i--) {
                Entry e = log.entries.get(i);
                if (e.owner == null && e.delta > 0 && e.thread == me && e.ref == owner.kind().ref()) {
                    e.owner = owner;
                    return;
                }
            }
            log.entries.add(new Entry(owner.kind().ref(), 0, owner));
        }
    }

    /** Marks the transition of an owner about to be released: the -1 this thread makes next on its count undoes it. */
    void releasing(Owner owner) {
        Log log = log(owner.obj);
        synchronized (log) {
            for (Iterator<Entry> it = log.entries.iterator(); it.hasNext(); ) {
                Entry e = it.next();
                if (e.owner == owner) {
                    if (e.delta == 0) {
                        it.remove(); // it took no count, so no -1 will come for it
                    } else {
                        e.releaser = Thread.currentThread();
                    }
                    return;
                }
            }
        }
    }

    /** Records a swap receipt the object was given, dropping those its store has released since. */
    void stored(ShmemObject o, SwapSlots slots) {
        Log log = log(o);
        synchronized (log) {
            log.receipts.removeIf(r -> r.slots.isReleased());
            log.receipts.add(new Receipt(slots, capture()));
        }
    }

    /**
     * Returns the object's open transitions; {@code held} tells which owners the object or a caller still holds.
     * Forgets an object with nothing open.
     */
    List<RefTransition> transitions(ShmemObject o, Predicate<Owner> held) {
        Log log = logs.get(o);
        if (log == null) {
            return List.of();
        }
        synchronized (log) {
            List<RefTransition> out = new ArrayList<>(log.entries.size());
            for (Entry e : log.entries) {
                out.add(new RefTransition(e.ref, e.delta, e.owner == null ? null : e.owner.kind(),
                        e.owner != null && held.test(e.owner), elements(e.stack)));
            }
            return out;
        }
    }

    /**
     * Describes the swap receipts the object was given that its store still holds but the object does not: slots
     * nobody will release.
     */
    List<String> strayReceipts(ShmemObject o, SwapSlots current) {
        Log log = logs.get(o);
        if (log == null) {
            return List.of();
        }
        synchronized (log) {
            log.receipts.removeIf(r -> r.slots.isReleased());
            return log.receipts.stream().filter(r -> r.slots != current)
                    .map(r -> r.slots.pages() + " swap pages stored at " + (r.stack.length == 0 ? "unknown"
                            : RefTransition.site(r.stack[0].toStackTraceElement())) + ", which " + o.name() + " no longer holds")
                    .collect(Collectors.toList());
        }
    }

    /** Returns where an owner's count was taken, while it is open. */
    List<StackTraceElement> acquiredAt(Owner owner) {
        Log log = logs.get(owner.obj);
        if (log == null) {
            return null;
        }
        synchronized (log) {
            for (Entry e : log.entries) {
                if (e.owner == owner) {
                    return elements(e.stack);
                }
            }
            return null;
        }
    }

    /** Forgets a retired object with nothing open. */
    void forget(ShmemObject o) {
        logs.computeIfPresent(o, (k, log) -> {
            synchronized (log) {
                log.receipts.removeIf(r -> r.slots.isReleased());
                return log.entries.isEmpty() && log.receipts.isEmpty() ? null : log;
            }
        });
    }
}
