package dev.gemshrink.bench;

import java.util.SplittableRandom;

/**
 * The budgeted-buffer-cache workload, shared by every contender: {@link #BUFFERS} buffers of 1 to 64
 * pages with sizes skewed small (P(k pages) proportional to k^-1.5, mean about 6.2 pages), a RAM budget of a
 * quarter of their total, and a pre-drawn stream of Zipf(0.99) accesses over the buffers (rank r has probability
 * proportional to 1 / r^0.99; ranks are shuffled onto buffer ids so popularity does not follow size). Both
 * contenders read the same stream; each thread starts at its own offset.
 */
final class CacheWorkload {
    static final int BUFFERS = 100_000;
    static final int MAX_PAGES = 64;
    static final double SIZE_EXPONENT = 1.5;
    static final double ZIPF_S = 0.99;
    static final int STREAM = 1 << 22;
    static final long SEED = 0x6e3d_5eedL;

    /** Pages of each buffer. */
    final int[] pages = new int[BUFFERS];
    /** The access stream: buffer ids. */
    final int[] stream = new int[STREAM];
    final long totalPages;
    final int budgetPages;
    /** One page of content per buffer id is derived from this (refill writes it to every page). */
    final byte[] pattern = new byte[4096];

    private static CacheWorkload instance;

    static synchronized CacheWorkload get() {
        if (instance == null) {
            instance = new CacheWorkload();
        }
        return instance;
    }

    private CacheWorkload() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        double[] sizeCdf = cdf(MAX_PAGES, SIZE_EXPONENT);
        long total = 0;
        for (int i = 0; i < BUFFERS; i++) {
            pages[i] = draw(sizeCdf, rnd.nextDouble()) + 1;
            total += pages[i];
        }
        totalPages = total;
        budgetPages = (int) (total / 4);
        int[] rankToId = new int[BUFFERS];
        for (int i = 0; i < BUFFERS; i++) {
            rankToId[i] = i;
        }
        for (int i = BUFFERS - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = rankToId[i];
            rankToId[i] = rankToId[j];
            rankToId[j] = t;
        }
        double[] zipf = cdf(BUFFERS, ZIPF_S);
        for (int i = 0; i < STREAM; i++) {
            stream[i] = rankToId[draw(zipf, rnd.nextDouble())];
        }
        rnd.nextBytes(pattern);
    }

    /** Cumulative distribution of P(k) ~ (k+1)^-s for k in [0, n). */
    private static double[] cdf(int n, double s) {
        double[] c = new double[n];
        double sum = 0;
        for (int k = 0; k < n; k++) {
            sum += Math.pow(k + 1, -s);
            c[k] = sum;
        }
        for (int k = 0; k < n; k++) {
            c[k] /= sum;
        }
        return c;
    }

    /** The smallest k with cdf[k] >= u. */
    private static int draw(double[] cdf, double u) {
        int lo = 0;
        int hi = cdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] < u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
