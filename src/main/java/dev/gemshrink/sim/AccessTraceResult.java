package dev.gemshrink.sim;

import dev.gemshrink.reclaim.ReclaimPolicy;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Objects;

/**
 * What replaying an {@link AccessTrace} under one policy found.
 *
 * @param policy   the reclaim policy the device ran under
 * @param requests the requests replayed
 * @param misses   the requests that found their object absent or purged (and those for an object larger than the
 *                 whole capacity)
 */
public record AccessTraceResult(ReclaimPolicy policy, long requests, long misses) {
    /**
     * Checks the counts.
     *
     * @param policy   the reclaim policy the device ran under
     * @param requests the requests replayed
     * @param misses   the requests that missed
     * @throws NullPointerException     when policy is null
     * @throws IllegalArgumentException when a count is negative or misses exceed requests
     */
    public AccessTraceResult {
        Objects.requireNonNull(policy, "policy");
        if (requests < 0 || misses < 0 || misses > requests) {
            throw new IllegalArgumentException("bad counts: " + misses + " misses of " + requests + " requests");
        }
    }

    /**
     * Returns misses per request.
     *
     * @return 0 to 1; 0 for an empty trace
     */
    public double missRatio() {
        return requests == 0 ? 0 : (double) misses / requests;
    }

    /**
     * Returns the result as one line: {@code policy=P requests=R misses=M miss_ratio=F}, where F is misses / requests
     * with four decimals, rounded half up (computed exactly from the counts), for example {@code 0.3985}.
     *
     * @return the line, without a line break
     */
    public String line() {
        BigDecimal ratio = requests == 0 ? BigDecimal.ZERO.setScale(4)
                : BigDecimal.valueOf(misses).divide(BigDecimal.valueOf(requests), 4, RoundingMode.HALF_UP);
        return "policy=" + policy.name() + " requests=" + requests + " misses=" + misses + " miss_ratio="
                + ratio.toPlainString();
    }
}
