package dev.gemshrink.sim;

/**
 * The memory of one client (one open DRM file) at one sample, like the {@code drm-resident-memory} and
 * {@code drm-total-memory} lines of its fdinfo.
 *
 * @param client        the client's name
 * @param residentBytes bytes of the client's BOs held in RAM
 * @param totalBytes    bytes of all the client's BOs (resident, in swap, or not yet allocated)
 */
public record ClientUsage(String client, long residentBytes, long totalBytes) {
}
