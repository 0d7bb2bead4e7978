/**
 * Executable invariants: {@link dev.gemshrink.checking.InvariantChecker} verifies an object or a whole device and
 * returns every {@link dev.gemshrink.checking.Violation} it finds.
 */
package dev.gemshrink.checking;
