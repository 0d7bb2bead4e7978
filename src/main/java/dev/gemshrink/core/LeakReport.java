package dev.gemshrink.core;

import java.util.List;
import java.util.Map;

/**
 * The owners of an object that are still live: what {@link ShmemObject#free()} reports as leaks. Names the object
 * and each owner kind with its count; with reference tracking on ({@link LeakDetection#PARANOID}) it also lists
 * every open count transition: each live owner's kind and where it was acquired, the caller's frame first, and
 * any count moved without an owner, or whose owner was dropped without being released.
 *
 * <p>Immutable; equal when all four parts are equal. A final class rather than a record: the model checker the
 * tests use cannot instrument reads of a record's fields.
 */
public final class LeakReport {
    private final String object;
    private final Map<OwnerKind, Integer> counts;
    private final List<RefTransition> transitions;
    private final String note;

    /**
     * Makes a report of immutable copies.
     *
     * @param object      the object's name
     * @param counts      live owners per kind (kinds with none are absent)
     * @param transitions every open count transition with its stack (empty unless tracking is on)
     * @param note        how to see more, or null when there is nothing more to see (tracking is on)
     */
    public LeakReport(String object, Map<OwnerKind, Integer> counts, List<RefTransition> transitions, String note) {
        this.object = object;
        this.counts = Map.copyOf(counts);
        this.transitions = List.copyOf(transitions);
        this.note = note;
    }

    /**
     * Returns the object's name.
     *
     * @return the name
     */
    public String object() {
        return object;
    }

    /**
     * Returns the live owners per kind.
     *
     * @return an immutable map; kinds with none are absent
     */
    public Map<OwnerKind, Integer> counts() {
        return counts;
    }

    /**
     * Returns every open count transition with its stack.
     *
     * @return an immutable list, empty unless tracking is on
     */
    public List<RefTransition> transitions() {
        return transitions;
    }

    /**
     * Returns how to see more.
     *
     * @return the note, or null when there is nothing more to see (tracking is on)
     */
    public String note() {
        return note;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LeakReport r && object.equals(r.object) && counts.equals(r.counts)
                && transitions.equals(r.transitions) && java.util.Objects.equals(note, r.note);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(object, counts, transitions, note);
    }

    /**
     * Returns whether nothing is leaked.
     *
     * @return true when no owner is live and no count transition is open
     */
    public boolean isEmpty() {
        return counts.isEmpty() && transitions.isEmpty();
    }

    @Override
    public String toString() {
        if (isEmpty()) {
            return object + ": no live owners";
        }
        StringBuilder sb = new StringBuilder(object).append(" freed with live owners:");
        for (OwnerKind k : OwnerKind.values()) {
            Integer n = counts.get(k);
            if (n != null) {
                sb.append(' ').append(k).append(" x").append(n);
            }
        }
        if (counts.isEmpty()) {
            sb.append(" none counted, but references are still taken");
        }
        if (note != null) {
            sb.append(" (").append(note).append(')');
        }
        String nl = System.lineSeparator();
        for (RefTransition t : transitions) {
            sb.append(nl).append("  ").append(t);
            for (int i = 1; i < t.stack().size(); i++) {
                sb.append(nl).append("      at ").append(t.stack().get(i));
            }
        }
        return sb.toString();
    }
}
