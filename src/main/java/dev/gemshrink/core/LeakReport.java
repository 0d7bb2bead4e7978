package dev.gemshrink.core;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;

/**
 * The owners of an object that are still live: what {@link ShmemObject#free()} reports as leaks. Names the object
 * and each owner kind with its count; under {@link LeakDetection#PARANOID} it also lists each owner with the stack
 * where it was acquired.
 *
 * @param object the object's name
 * @param counts live owners per kind (kinds with none are absent)
 * @param owners every live owner, with its stack (empty unless leak detection is PARANOID)
 */
public record LeakReport(String object, Map<OwnerKind, Integer> counts, List<Owner> owners) {

    /**
     * Makes immutable copies.
     *
     * @param object see the record component
     * @param counts see the record component
     * @param owners see the record component
     */
    public LeakReport {
        counts = Map.copyOf(counts);
        owners = List.copyOf(owners);
    }

    /**
     * Returns whether nothing is leaked.
     *
     * @return true when no owner is live
     */
    public boolean isEmpty() {
        return counts.isEmpty();
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
        if (owners.isEmpty()) {
            sb.append(" (run with -Dgemshrink.leakDetection=paranoid to see where each was acquired)");
        }
        for (Owner o : owners) {
            sb.append(System.lineSeparator()).append("  ").append(o);
            o.acquiredAt().ifPresent(t -> {
                StringWriter w = new StringWriter();
                t.printStackTrace(new PrintWriter(w));
                sb.append(System.lineSeparator()).append("    ").append(w.toString().trim()
                        .replace(System.lineSeparator(), System.lineSeparator() + "    "));
            });
        }
        return sb.toString();
    }
}
