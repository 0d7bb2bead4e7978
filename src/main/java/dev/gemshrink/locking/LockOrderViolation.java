package dev.gemshrink.locking;

import java.util.List;

/**
 * A lock-order inversion found by the {@link LockValidator}: a thread takes lock {@code B} while holding {@code A},
 * and the validator learned earlier (maybe from another thread, maybe with no contention at all) that {@code B} is
 * taken before {@code A}. Two threads doing both could deadlock. The report names the lock classes, where each
 * order was seen (stack and thread) and, when the reclaim pseudo-lock is part of the cycle, that it is a reclaim
 * inversion: a lock held across an allocation that may reclaim, and also taken blocking by reclaim.
 */
public final class LockOrderViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * One learned order: a thread took {@code after} while holding {@code before}.
     *
     * @param before     the class of the lock held
     * @param heldName   the held lock, as named by its owner
     * @param after      the class of the lock taken
     * @param takenName  the lock taken, as named by its owner
     * @param thread     the name of the thread that took it
     * @param stack      where it was taken (the validator's own frames left out)
     */
    public record Dependency(String before, String heldName, String after, String takenName, String thread,
                             List<StackTraceElement> stack) {
        /**
         * Copies the stack.
         *
         * @param before    see the record component
         * @param heldName  see the record component
         * @param after     see the record component
         * @param takenName see the record component
         * @param thread    see the record component
         * @param stack     see the record component
         */
        public Dependency {
            stack = List.copyOf(stack);
        }

        void appendTo(StringBuilder sb, String intro) {
            sb.append(intro).append(" thread \"").append(thread).append("\" took ").append(takenName)
                    .append(" while holding ").append(heldName).append(":\n");
            for (StackTraceElement e : stack) {
                sb.append("        at ").append(e).append('\n');
            }
        }
    }

    private final transient Dependency now;
    private final transient List<Dependency> earlier;

    LockOrderViolation(Dependency now, List<Dependency> earlier) {
        super(describe(now, earlier), null, false, false);
        this.now = now;
        this.earlier = List.copyOf(earlier);
    }

    private static boolean involvesReclaim(Dependency now, List<Dependency> earlier) {
        String r = LockClass.RECLAIM.name();
        return now.before().equals(r) || now.after().equals(r)
                || earlier.stream().anyMatch(d -> d.before().equals(r) || d.after().equals(r));
    }

    private static String describe(Dependency now, List<Dependency> earlier) {
        StringBuilder sb = new StringBuilder();
        sb.append(involvesReclaim(now, earlier) ? "reclaim lock-order inversion: " : "lock-order inversion: ")
                .append(now.after()).append(" taken while holding ").append(now.before())
                .append(", but the opposite order was seen before\n");
        now.appendTo(sb, "    now:");
        for (Dependency d : earlier) {
            d.appendTo(sb, "    before:");
        }
        return sb.toString();
    }

    /**
     * Returns the acquisition that closed the cycle.
     *
     * @return the order seen now
     */
    public Dependency now() {
        return now;
    }

    /**
     * Returns the orders learned earlier that lead from the lock taken now back to the lock held now.
     *
     * @return one dependency for a direct inversion, more for a longer cycle
     */
    public List<Dependency> earlier() {
        return earlier;
    }

    /**
     * Returns whether the cycle goes through the reclaim pseudo-lock.
     *
     * @return true for a reclaim inversion
     */
    public boolean isReclaimInversion() {
        return involvesReclaim(now, earlier);
    }
}
