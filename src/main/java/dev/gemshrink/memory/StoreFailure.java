package dev.gemshrink.memory;

import java.io.IOException;

/** How the swap stores report a failure that happened after they reserved room (and rolled the reservation back). */
final class StoreFailure {
    private StoreFailure() {
    }

    /**
     * Returns the failure as the {@link IOException} of the {@link SwapStore} contract: an IOException as it is, an
     * {@link OutOfMemoryError} (the store's own buffers did not fit) or a RuntimeException wrapped. Any other Error
     * is thrown from here, as it is.
     *
     * @param what what failed, for the message
     * @param t    the failure, caught after the store's state was restored
     * @return the IOException for the caller to throw
     */
    static IOException asIOException(String what, Throwable t) {
        if (t instanceof IOException) {
            return (IOException) t;
        }
        if (t instanceof OutOfMemoryError || t instanceof RuntimeException) {
            return new IOException(what + ": " + t, t);
        }
        throw (Error) t;
    }
}
