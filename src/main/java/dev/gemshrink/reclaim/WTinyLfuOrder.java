package dev.gemshrink.reclaim;

/**
 * W-TinyLFU (Einziger, Friedman and Manes, ACM Transactions on Storage 2017; Caffeine's policy), as an order of
 * victims: new objects enter a small LRU window (a hundredth of the objects); the window's overflow moves to the
 * probation segment of a segmented LRU main area as a <em>candidate</em>; a use in probation promotes to the
 * protected segment (four fifths of the main area; its overflow is demoted to probation). Every insertion and use
 * counts the object's key in a {@link FrequencySketch}. A victim is chosen by TinyLFU's admission: when the newest
 * probation object is an unjudged candidate, it is compared with the oldest probation object and the one the sketch
 * finds less frequent (the candidate on a tie) is the victim; otherwise the oldest of probation, then of protected,
 * then of the window.
 *
 * <p>Cost: a use O(1) plus four counter updates; a victim O(objects passed). Memory: the sketch, four rows of 4-bit counters,
 * as many per row as the power of two at or above the device's RAM in pages (16 to 2^22): 2 to 4 bytes per page.
 */
final class WTinyLfuOrder extends ReclaimOrder {
    private static final int SEGMENT = 0x3;
    private static final int WINDOW = 0;
    private static final int PROBATION = 1;
    private static final int PROTECTED = 2;
    private static final int CANDIDATE = 0x4;

    private final NodeQueue window = new NodeQueue(); // guarded by the LRU lock
    private final NodeQueue probation = new NodeQueue(); // guarded by the LRU lock
    private final NodeQueue protectedQueue = new NodeQueue(); // guarded by the LRU lock
    private final FrequencySketch sketch; // guarded by the LRU lock

    WTinyLfuOrder(int capacityPages) {
        this.sketch = new FrequencySketch(FrequencySketch.widthFor(capacityPages));
    }

    @Override
    void inserted(LruNode node) {
        sketch.increment(node.reclaimKey());
        node.policyBits = WINDOW;
        window.linkTail(node);
        while (window.size() > Math.max(1, size() / 100)) {
            LruNode h = window.head();
            window.unlink(h);
            setState(h, PROBATION | CANDIDATE);
            probation.linkTail(h);
        }
    }

    @Override
    void used(LruNode node) {
        sketch.increment(node.reclaimKey());
        switch (node.policyBits & SEGMENT) {
            case WINDOW -> window.moveTail(node);
            case PROTECTED -> protectedQueue.moveTail(node);
            default -> {
                probation.unlink(node);
                setState(node, PROTECTED);
                protectedQueue.linkTail(node);
                int protectedMax = (size() - window.size()) * 4 / 5;
                while (protectedQueue.size() > protectedMax) {
                    LruNode h = protectedQueue.head();
                    protectedQueue.unlink(h);
                    setState(h, PROBATION);
                    probation.linkTail(h);
                }
            }
        }
    }

    @Override
    void removed(LruNode node) {
        queueOf(node).unlink(node);
    }

    @Override
    public <T extends LruNode> T nextVictim(GemLru<T> list) {
        LruNode victim = firstOn(probation.head(), list);
        LruNode candidate = probation.tail();
        if (victim != null && candidate != victim && (candidate.policyBits & CANDIDATE) != 0 && on(candidate, list)) {
            setState(candidate, PROBATION);
            if (sketch.frequency(candidate.reclaimKey()) <= sketch.frequency(victim.reclaimKey())) {
                return offer(candidate);
            }
        }
        NodeQueue from = probation;
        if (victim == null) {
            from = protectedQueue;
            victim = firstOn(protectedQueue.head(), list);
        }
        if (victim == null) {
            from = window;
            victim = firstOn(window.head(), list);
        }
        if (victim != null) {
            from.moveTail(victim);
        }
        return offer(victim);
    }


    private NodeQueue queueOf(LruNode node) {
        return switch (node.policyBits & SEGMENT) {
            case WINDOW -> window;
            case PROBATION -> probation;
            default -> protectedQueue;
        };
    }

    @Override
    public int size() {
        return window.size() + probation.size() + protectedQueue.size();
    }
}
