package dev.gemshrink.panfrost;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;

/** A GPU access to an address outside every mapping, or one the fault handler could not resolve: the job fails. */
public final class GpuFaultException extends GemException {
    private static final long serialVersionUID = 1L;

    GpuFaultException(String message) {
        super(Errno.EFAULT, message);
    }

    GpuFaultException(String message, Throwable cause) {
        super(Errno.EFAULT, message, cause);
    }
}
