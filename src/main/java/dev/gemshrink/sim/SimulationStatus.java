package dev.gemshrink.sim;

/**
 * The state of a running {@link Simulation}, as given to its progress listener.
 *
 * @param elapsedSeconds   wall-clock seconds since the workers started
 * @param plannedSeconds   how long a threaded run lasts; 0 in the deterministic mode
 * @param operations       driver calls so far
 * @param operationBudget  the operation budget of the deterministic mode; 0 with threads
 * @param jobs             GPU jobs submitted so far
 * @param residentPages    pages of RAM holding BO contents now
 * @param swappedPages     pages held in swap now
 * @param freePages        RAM pages not in use now
 * @param scans            shrinker scans so far
 * @param enomem           calls and jobs that failed with ENOMEM so far
 */
public record SimulationStatus(double elapsedSeconds, double plannedSeconds, long operations, long operationBudget,
        long jobs, long residentPages, long swappedPages, long freePages, long scans, long enomem) {
}
