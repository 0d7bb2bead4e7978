package dev.gemshrink.core;

import java.util.ArrayList;
import java.util.List;

/**
 * A scatter/gather table: the pages of an object as runs of consecutive frame numbers, the way the GPU MMU sees
 * them. A value: it owns nothing and stays valid only while the caller keeps the pages (normally with a pin).
 *
 * @param segments the runs, in object page order
 * @param pages    the number of pages described
 */
public record ScatterList(List<Segment> segments, int pages) {

    /**
     * One run of frames.
     *
     * @param pageIndex the object page the run starts at
     * @param firstPfn  the frame number of its first page
     * @param count     the number of pages in the run
     */
    public record Segment(int pageIndex, int firstPfn, int count) {
    }

    /**
     * Makes an immutable copy of the segment list.
     *
     * @param segments see the record component
     * @param pages see the record component
     */
    public ScatterList {
        segments = List.copyOf(segments);
    }

    static ScatterList of(int[] pfns) {
        return of(pfns, 0);
    }

    static ScatterList of(int[] pfns, int firstIndex) {
        List<Segment> out = new ArrayList<>();
        int pages = 0;
        int i = 0;
        while (i < pfns.length) {
            if (pfns[i] < 0) {
                i++;
                continue;
            }
            int start = i;
            while (i + 1 < pfns.length && pfns[i + 1] == pfns[i] + 1) {
                i++;
            }
            out.add(new Segment(firstIndex + start, pfns[start], i - start + 1));
            pages += i - start + 1;
            i++;
        }
        return new ScatterList(out, pages);
    }
}
