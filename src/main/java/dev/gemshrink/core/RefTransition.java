package dev.gemshrink.core;

import java.util.List;

/**
 * One count transition of an object that reference tracking still holds open: a +1 on a count not yet undone, or a
 * -1 that matched no owner. Recorded at the count itself, so a count moved on a path that creates no owner still
 * leaves one, with the place it happened (see {@link LeakDetection#PARANOID}).
 *
 * @param ref   the count that moved
 * @param delta +1 or -1
 * @param owner the kind of the owner the transition belongs to, or null when it belongs to none
 * @param held  whether that owner is still held: by a caller (not closed), or for the object's own kinds by the
 *              object's field for it; false when there is no owner
 * @param stack where it happened, the site first: the first frame outside the object's own bookkeeping
 *              ({@code ShmemObject}, its owners, the permit an evictor reclaims through, the core's own evictor
 *              and shrinker), then the frames above it
 */
public record RefTransition(RefKind ref, int delta, OwnerKind owner, boolean held, List<StackTraceElement> stack) {

    /**
     * Makes an immutable copy of the stack.
     *
     * @param ref   see the record component
     * @param delta see the record component
     * @param owner see the record component
     * @param held  see the record component
     * @param stack see the record component
     */
    public RefTransition {
        stack = List.copyOf(stack);
    }

    /**
     * Returns whether the transition is accounted for: it belongs to an owner that is still held.
     *
     * @return false for a transition with no owner, or whose owner the object or its caller dropped
     */
    public boolean matched() {
        return owner != null && held;
    }

    /**
     * Returns the site: the frame where the count moved, as {@code Class.method(File.java:line)} without the package.
     *
     * @return the site, or {@code unknown} when no frame was recorded
     */
    public String site() {
        return stack.isEmpty() ? "unknown" : site(stack.get(0));
    }

    /** A frame as {@code Class.method(File.java:line)}, the class without its package. */
    static String site(StackTraceElement e) {
        String cls = e.getClassName();
        return cls.substring(cls.lastIndexOf('.') + 1) + "." + e.getMethodName() + "(" + e.getFileName() + ":"
                + e.getLineNumber() + ")";
    }

    @Override
    public String toString() {
        String sign = delta > 0 ? "+" + delta : String.valueOf(delta);
        if (owner == null) {
            return sign + " with no owner at " + site();
        }
        return sign + " of " + owner + (held ? "" : ", no longer held,") + " at " + site();
    }
}
