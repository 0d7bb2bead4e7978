package dev.gemshrink.checking;

/**
 * One broken invariant.
 *
 * @param subject what it concerns (an object's name, or {@code device})
 * @param rule    the invariant, as a short name (for example {@code use-count-equals-owners})
 * @param detail  the facts that break it
 */
public record Violation(String subject, String rule, String detail) {
    @Override
    public String toString() {
        return subject + ": " + rule + ": " + detail;
    }
}
