package dev.gemshrink.locking;

import dev.gemshrink.locking.LockOrderViolation.Dependency;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lock-order validation for the library's locks, after the kernel's lockdep. Every blocking acquisition of a
 * {@link ResvLock}, a {@link TrackedLock} or the reclaim pseudo-lock teaches the validator that the acquired lock's
 * {@link LockClass} comes after the classes the thread already holds; the first acquisition that closes a cycle in
 * that order is a {@link LockOrderViolation}, reported even when no deadlock happened (the two orders may have been
 * seen one after the other, in different threads).
 *
 * <ul>
 *   <li>Try-locks never wait, so they add no order; they are recorded as held, and locks taken blocking while they
 *       are held order after them.</li>
 *   <li>Reservation locks taken under one {@link AcquireContext} may nest in any order (wait-die resolves it, as
 *       lockdep's {@code nest_lock}). Two locks of one class nested without a shared context are ordered per lock:
 *       taking {@code x} then {@code y} and later {@code y} then {@code x} is an inversion.</li>
 *   <li>Reclaim: an allocation that may run direct reclaim calls {@link #mayEnterReclaim()}, which orders every lock
 *       held after it before {@link LockClass#RECLAIM}; a shrinker's scan runs between {@link #enterReclaim()} and
 *       {@link #exitReclaim()}, which orders every lock it takes blocking after reclaim. A lock that is both is a
 *       reclaim inversion: under memory pressure the allocation would wait for itself.</li>
 * </ul>
 *
 * <p>One validator is in force per process (the locks are process-wide). It is off unless the system property
 * {@value #PROPERTY} is {@code report} or {@code strict} at start, or {@link #enable} or {@link #install} switch it;
 * switch only while no library lock is held. In {@link Mode#STRICT} the violating acquisition throws the violation
 * before it waits for the lock (nothing is taken); in {@link Mode#REPORT} it logs it once, records it
 * ({@link #violations()}) and goes on. Off, each hook costs one volatile read. The locks a thread holds are kept in a
 * static thread-local stack, so a pooled thread that returned to its pool holding a lock shows it in
 * {@link #heldByCurrentThread()}.
 */
public final class LockValidator {
    /** The system property read at start: {@code off} (the default), {@code report} or {@code strict}. */
    public static final String PROPERTY = "gemshrink.lockdep";

    /** What the validator does. */
    public enum Mode {
        /** No validation: each hook costs one volatile read. */
        OFF,
        /** Violations are logged once, recorded, and the acquisition goes on. */
        REPORT,
        /** A violation is recorded and thrown by the acquisition that found it, before it takes the lock. */
        STRICT
    }

    private static final Logger LOG = LoggerFactory.getLogger(LockValidator.class);
    private static final int N = LockClass.MAX_CLASSES;
    /** The one instance of the reclaim pseudo-lock. */
    private static final Object RECLAIM_LOCK = new Object() {
        @Override
        public String toString() {
            return LockClass.RECLAIM.name();
        }
    };
    // The validator in force, null when off; volatile so that a switch is seen by every thread's next acquisition.
    private static volatile LockValidator active = create(modeOf(System.getProperty(PROPERTY, "off")));
    private static final ThreadLocal<HeldLocks> HELD = ThreadLocal.withInitial(HeldLocks::new);

    private final Mode mode;
    // Bit (before * N + after) set once that order is learned; read without a lock on every acquisition.
    private final AtomicLongArray known = new AtomicLongArray(N * N / 64);
    private final Dependency[][] firstSeen = new Dependency[N][]; // guarded by this: where each order was learned
    // guarded by this: per lock, the locks of its class taken while it was held (weak: locks come and go)
    private final Map<Object, Map<Object, Dependency>> lockOrder = new WeakHashMap<>();
    private final Set<String> reported = new HashSet<>(); // guarded by this: violations already recorded
    private final List<LockOrderViolation> violations = new CopyOnWriteArrayList<>();

    /**
     * Creates a validator with nothing learned; {@link #install} puts it in force.
     *
     * @param mode {@link Mode#REPORT} or {@link Mode#STRICT}
     * @throws IllegalArgumentException for {@link Mode#OFF}
     */
    public LockValidator(Mode mode) {
        if (mode == Mode.OFF) {
            throw new IllegalArgumentException("a validator reports or is strict; OFF is no validator");
        }
        this.mode = mode;
    }

    private static LockValidator create(Mode mode) {
        return mode == Mode.OFF ? null : new LockValidator(mode);
    }

    /**
     * Parses a mode as the system property spells it.
     *
     * @param s {@code off}, {@code report} or {@code strict} (any case)
     * @return the mode
     * @throws IllegalArgumentException for anything else
     */
    public static Mode modeOf(String s) {
        try {
            return Mode.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + " must be off, report or strict: " + s, e);
        }
    }

    /**
     * Puts a fresh validator in force (or none, for {@link Mode#OFF}), forgetting what was learned. Call it while no
     * library lock is held, typically at start.
     *
     * @param mode the mode
     */
    public static void enable(Mode mode) {
        active = create(mode);
    }

    /**
     * Puts a validator in force and returns the one it replaces, so a test can learn and provoke orders in isolation
     * and then put the previous one back. Call it while no library lock is held.
     *
     * @param validator the validator, or null for none
     * @return the validator that was in force, or null
     */
    public static LockValidator install(LockValidator validator) {
        LockValidator previous = active;
        active = validator;
        return previous;
    }

    /**
     * Returns the validator in force.
     *
     * @return it, or empty when validation is off
     */
    public static Optional<LockValidator> active() {
        return Optional.ofNullable(active);
    }

    /**
     * Returns this validator's mode.
     *
     * @return REPORT or STRICT
     */
    public Mode mode() {
        return mode;
    }

    /**
     * Returns the violations found so far, each once, first first (in strict mode too).
     *
     * @return a snapshot
     */
    public List<LockOrderViolation> violations() {
        return List.copyOf(violations);
    }

    /**
     * Returns how many orders between lock classes were learned.
     *
     * @return the number of class pairs (before, after) seen
     */
    public int orderCount() {
        int n = 0;
        for (int i = 0; i < known.length(); i++) {
            n += Long.bitCount(known.get(i));
        }
        return n;
    }

    /**
     * Returns the locks the calling thread holds as the validator saw them, oldest first (empty when off).
     *
     * @return the names of the locks held
     */
    public static List<String> heldByCurrentThread() {
        HeldLocks h = HELD.get();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < h.depth; i++) {
            out.add(String.valueOf(h.locks[i]) + (h.tries[i] ? " (try)" : ""));
        }
        return out;
    }

    /**
     * Marks an allocation that may run direct reclaim (the kernel's {@code might_alloc}): orders every lock held now
     * before reclaim, whether or not reclaim then runs.
     *
     * @throws LockOrderViolation in strict mode, when reclaim takes one of the held locks blocking
     */
    public static void mayEnterReclaim() {
        LockValidator v = active;
        if (v != null) {
            HeldLocks h = HELD.get();
            if (!h.holds(RECLAIM_LOCK)) { // an allocation made by reclaim does not reclaim again
                v.check(h, LockClass.RECLAIM, RECLAIM_LOCK, null);
            }
        }
    }

    /**
     * Starts running reclaim on this thread (a shrinker's scan, a reclaim hook): until {@link #exitReclaim()} every
     * lock taken blocking orders after reclaim. Nested calls are fine: reclaim run from inside reclaim (an allocation
     * of a scan) adds no order.
     *
     * @throws LockOrderViolation in strict mode, when a lock held now is also taken blocking by reclaim
     */
    public static void enterReclaim() {
        LockValidator v = active;
        if (v != null) {
            HeldLocks h = HELD.get();
            if (!h.holds(RECLAIM_LOCK)) {
                v.check(h, LockClass.RECLAIM, RECLAIM_LOCK, null);
            }
            h.push(LockClass.RECLAIM, RECLAIM_LOCK, null, false);
        }
    }

    /** Ends what the matching {@link #enterReclaim()} started. */
    public static void exitReclaim() {
        release(RECLAIM_LOCK);
    }

    /** Before a blocking acquisition: validates it, then records it as held. */
    static void acquire(LockClass c, Object lock, Object ctx) {
        LockValidator v = active;
        if (v != null) {
            HeldLocks h = HELD.get();
            v.check(h, c, lock, ctx);
            h.push(c, lock, ctx, false);
        }
    }

    /** After a successful try-lock: records it as held, without learning an order. */
    static void acquiredByTry(LockClass c, Object lock) {
        if (active != null) {
            HELD.get().push(c, lock, null, true);
        }
    }

    /** After a release: forgets the most recent hold of that lock (nothing when it was taken while off). */
    static void release(Object lock) {
        if (active != null) {
            HELD.get().remove(lock);
        }
    }

    private void check(HeldLocks h, LockClass c, Object lock, Object ctx) {
        // From the most recent hold down to the first blocking one: older holds are ordered before that one already.
        for (int i = h.depth - 1; i >= 0; i--) {
            if (h.locks[i] == lock) {
                return; // a reentrant lock taken again: what lies below was ordered before it the first time
            }
            LockClass before = h.classes[i];
            if (before == c) {
                if (ctx == null || h.contexts[i] != ctx) {
                    checkLockOrder(h.locks[i], c, lock);
                }
            } else if (!isKnown(before.id, c.id)) {
                learn(h.locks[i], before, c, lock);
            }
            if (!h.tries[i]) {
                return;
            }
        }
    }

    private boolean isKnown(int before, int after) {
        int bit = before * N + after;
        return (known.get(bit >>> 6) & (1L << bit)) != 0;
    }

    private synchronized void learn(Object held, LockClass before, LockClass after, Object lock) {
        if (isKnown(before.id, after.id)) {
            return;
        }
        List<Dependency> back = path(after.id, before.id);
        Dependency now = dependency(before, held, after, lock);
        if (back != null) {
            violation(before + " -> " + after, now, back);
            return;
        }
        if (firstSeen[before.id] == null) {
            firstSeen[before.id] = new Dependency[N];
        }
        firstSeen[before.id][after.id] = now;
        int bit = before.id * N + after.id;
        known.getAndUpdate(bit >>> 6, w -> w | (1L << bit));
    }

    /** A learned path of orders from one class to another (breadth first), or null. Caller holds this. */
    private List<Dependency> path(int from, int to) {
        int[] parent = new int[N];
        Arrays.fill(parent, -1);
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        queue.add(from);
        parent[from] = from;
        while (!queue.isEmpty()) {
            int u = queue.poll();
            for (int v = 0; v < N; v++) {
                if (parent[v] < 0 && isKnown(u, v)) {
                    parent[v] = u;
                    if (v == to) {
                        List<Dependency> out = new ArrayList<>();
                        for (int x = to; x != from; x = parent[x]) {
                            out.add(0, firstSeen[parent[x]][x]);
                        }
                        return out;
                    }
                    queue.add(v);
                }
            }
        }
        return null;
    }

    /** Two locks of one class nested outside a shared acquire context: ordered per lock. */
    private synchronized void checkLockOrder(Object held, LockClass c, Object lock) {
        Map<Object, Dependency> takenAfterLock = lockOrder.get(lock);
        Dependency back = takenAfterLock == null ? null : takenAfterLock.get(held);
        if (back != null) {
            violation(held + " -> " + lock, dependency(c, held, c, lock), List.of(back));
            return;
        }
        Map<Object, Dependency> takenAfterHeld = lockOrder.computeIfAbsent(held, k -> new WeakHashMap<>());
        if (!takenAfterHeld.containsKey(lock)) {
            takenAfterHeld.put(lock, dependency(c, held, c, lock));
        }
    }

    /** Records a violation (once per pair), logs it in report mode, throws it in strict mode. Caller holds this. */
    private void violation(String key, Dependency now, List<Dependency> earlier) {
        LockOrderViolation v = new LockOrderViolation(now, earlier);
        if (reported.add(key)) {
            violations.add(v);
            if (mode == Mode.REPORT) {
                LOG.warn("{}", v.getMessage());
            }
        }
        if (mode == Mode.STRICT) {
            throw v;
        }
    }

    private static Dependency dependency(LockClass before, Object held, LockClass after, Object lock) {
        StackTraceElement[] stack = new Throwable().getStackTrace();
        int from = 0;
        while (from < stack.length && stack[from].getClassName().startsWith(LockValidator.class.getName())) {
            from++;
        }
        return new Dependency(before.name(), String.valueOf(held), after.name(), String.valueOf(lock),
                Thread.currentThread().getName(), Arrays.asList(stack).subList(from, stack.length));
    }

    /** The locks one thread holds, most recent last; only that thread touches it. */
    private static final class HeldLocks {
        LockClass[] classes = new LockClass[8];
        Object[] locks = new Object[8];
        Object[] contexts = new Object[8];
        boolean[] tries = new boolean[8];
        int depth;

        void push(LockClass c, Object lock, Object ctx, boolean isTry) {
            if (depth == locks.length) {
                int n = depth * 2;
                classes = Arrays.copyOf(classes, n);
                locks = Arrays.copyOf(locks, n);
                contexts = Arrays.copyOf(contexts, n);
                tries = Arrays.copyOf(tries, n);
            }
            classes[depth] = c;
            locks[depth] = lock;
            contexts[depth] = ctx;
            tries[depth] = isTry;
            depth++;
        }

        boolean holds(Object lock) {
            for (int i = depth - 1; i >= 0; i--) {
                if (locks[i] == lock) {
                    return true;
                }
            }
            return false;
        }

        void remove(Object lock) {
            for (int i = depth - 1; i >= 0; i--) {
                if (locks[i] == lock) {
                    int tail = depth - 1 - i;
                    System.arraycopy(classes, i + 1, classes, i, tail);
                    System.arraycopy(locks, i + 1, locks, i, tail);
                    System.arraycopy(contexts, i + 1, contexts, i, tail);
                    System.arraycopy(tries, i + 1, tries, i, tail);
                    depth--;
                    classes[depth] = null;
                    locks[depth] = null;
                    contexts[depth] = null;
                    return;
                }
            }
        }
    }
}
