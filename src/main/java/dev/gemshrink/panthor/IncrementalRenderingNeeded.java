package dev.gemshrink.panthor;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;

/**
 * A tiler heap could not grow (no free RAM for a chunk without reclaim, or the heap is full): the job flushes what it
 * has and renders incrementally instead of faulting. It ends with
 * {@link PanthorJob.Status#INCREMENTAL_RENDERING_NEEDED}. Its errno is ENOMEM.
 */
public final class IncrementalRenderingNeeded extends GemException {
    private static final long serialVersionUID = 1L;

    IncrementalRenderingNeeded(String message, Throwable cause) {
        super(Errno.ENOMEM, "incremental rendering needed: " + message, cause);
    }
}
