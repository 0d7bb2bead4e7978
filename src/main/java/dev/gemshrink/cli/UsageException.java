package dev.gemshrink.cli;

/** A command line that cannot be run as given: the tool prints the message and exits with status 2. */
final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
