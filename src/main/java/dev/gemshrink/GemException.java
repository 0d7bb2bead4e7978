package dev.gemshrink;

import java.util.Objects;

/**
 * The one exception type of this library: a failed call with the {@link Errno} the kernel would return. A call that
 * throws it has changed no state.
 */
public class GemException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The error code (part of the serialized form). */
    private final Errno errno;

    /**
     * Creates an exception.
     *
     * @param errno   the error code
     * @param message what failed, naming the object and its state
     */
    public GemException(Errno errno, String message) {
        super(message);
        this.errno = Objects.requireNonNull(errno, "errno");
    }

    /**
     * Creates an exception with a cause (for example the I/O error of a swap store).
     *
     * @param errno   the error code
     * @param message what failed, naming the object and its state
     * @param cause   the underlying failure
     */
    public GemException(Errno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = Objects.requireNonNull(errno, "errno");
    }

    /**
     * Returns the error code.
     *
     * @return the errno of this failure
     */
    public Errno errno() {
        return errno;
    }

    @Override
    public String toString() {
        return errno + ": " + getMessage();
    }
}
