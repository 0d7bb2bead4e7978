package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.reclaim.GemLruTest.Node;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The built-in policies' orders, decision by decision: SIEVE's hand and visited bits, S3-FIFO's moves between its
 * small, main and ghost queues, W-TinyLFU's admission by its frequency sketch; and what every order shares: a move
 * between two lists of the order keeps the position, a move onto the DONTNEED list is no use, a pass sees only its
 * own list's objects.
 */
class ReclaimOrderTest {
    private final ReentrantLock lock = new ReentrantLock();
    private final Node a = new Node("a", 1);
    private final Node b = new Node("b", 2);
    private final Node c = new Node("c", 3);
    private final Node d = new Node("d", 4);

    @BeforeEach
    void lock() {
        lock.lock();
    }

    @AfterEach
    void unlock() {
        lock.unlock();
    }

    /** The lists of one device: DONTNEED, WILLNEED, pinned, and an unordered one for evicted objects. */
    private final class Lists {
        final ReclaimOrder order;
        final GemLru<Node> dontneed;
        final GemLru<Node> willneed;
        final GemLru<Node> pinned;
        final GemLru<Node> evicted = new GemLru<>("evicted", lock);

        Lists(ReclaimOrder order) {
            this.order = order;
            this.dontneed = new GemLru<>("dontneed", lock, order, GemLru.Use.GIVEN_UP, null);
            this.willneed = new GemLru<>("willneed", lock, order, GemLru.Use.IDLE, null);
            this.pinned = new GemLru<>("pinned", lock, order, GemLru.Use.IN_USE, null);
        }

        /** Offers the next victim of a list and, when there is one, reclaims it as the shrinker does. */
        Node reclaim(GemLru<Node> list) {
            Node v = order.nextVictim(list);
            if (v != null) {
                evicted.moveTail(v, 1);
                order.reclaimed(v);
                order.offerDone(v);
            }
            return v;
        }

        /** Offers the next victim of a list, which is not reclaimed (busy), and ends the pass. */
        Node refuse(GemLru<Node> list) {
            Node v = order.nextVictim(list);
            if (v != null) {
                order.offerDone(v);
            }
            return v;
        }

        /** Inserts objects DONTNEED, in order. */
        void giveUp(Node... nodes) {
            for (Node n : nodes) {
                dontneed.moveTail(n, 1);
            }
        }

        /** A hit in an access trace replay: WILLNEED (a use), then DONTNEED again (no use). */
        void hit(Node n) {
            willneed.moveTail(n, 1);
            dontneed.moveTail(n, 1);
        }
    }

    @Nested
    class Sieve {
        private final Lists l = new Lists(new SieveOrder());

        @Test
        void theHandClearsVisitedBitsAndStopsAtTheFirstUnvisited() {
            l.giveUp(a, b, c);
            l.hit(a);
            assertThat(a.policyBits & 1).isEqualTo(1);
            assertThat(l.refuse(l.dontneed)).isSameAs(b);
            assertThat(a.policyBits & 1).as("passed by the hand").isZero();
            // b was not reclaimed (busy): the hand moved on past it, and comes back to it after a round.
            assertThat(l.refuse(l.dontneed)).isSameAs(c);
            assertThat(l.refuse(l.dontneed)).isSameAs(a);
            assertThat(l.refuse(l.dontneed)).isSameAs(b);
        }

        @Test
        void aPassIsOfferedEachObjectOnceUntilItsOffersAreDone() {
            l.giveUp(a, b);
            Node first = l.order.nextVictim(l.dontneed);
            Node second = l.order.nextVictim(l.dontneed);
            assertThat(List.of(first, second)).containsExactly(a, b);
            assertThat(l.order.nextVictim(l.dontneed)).as("both busy, both offered").isNull();
            l.order.offerDone(first);
            l.order.offerDone(second);
            assertThat(l.order.nextVictim(l.dontneed)).isSameAs(a);
        }

        @Test
        void aHitKeepsThePlaceInTheQueue() {
            l.giveUp(a, b);
            l.hit(a);
            l.hit(a);
            assertThat(l.reclaim(l.dontneed)).as("a keeps its place and is spared once").isSameAs(b);
            assertThat(l.reclaim(l.dontneed)).isSameAs(a);
            assertThat(l.order.size()).isZero();
        }

        @Test
        void markingDontneedIsNoUse() {
            l.willneed.moveTail(a, 1); // inserted WILLNEED
            l.dontneed.moveTail(a, 1); // marked DONTNEED: not visited
            l.dontneed.moveTail(b, 1);
            assertThat(l.reclaim(l.dontneed)).isSameAs(a);
        }

        @Test
        void aBurstOfStateChangesIsOneUseAndCreatingAnObjectNone() {
            l.willneed.moveTail(a, 1); // created: inserted WILLNEED
            l.pinned.moveTail(a, 1); // filled through a transient CPU mapping
            l.willneed.moveTail(a, 1);
            assertThat(a.policyBits & 1).as("no use yet").isZero();
            l.dontneed.moveTail(a, 1);
            l.willneed.moveTail(a, 1); // wanted again: a use
            assertThat(a.policyBits & 1).isEqualTo(1);
            a.policyBits &= ~1;
            l.pinned.moveTail(a, 1); // still the same use
            assertThat(a.policyBits & 1).isZero();
            l.willneed.moveTail(a, 1); // released: idle
            l.willneed.moveTail(a, 1); // a change that stays on its list: nothing
            assertThat(a.policyBits & 1).isZero();
            l.pinned.moveTail(a, 1); // held again: a use
            assertThat(a.policyBits & 1).isEqualTo(1);
        }

        @Test
        void aPassStepsOverOtherListsUntouched() {
            l.dontneed.moveTail(a, 1);
            l.willneed.moveTail(a, 1); // a use: visited
            l.dontneed.moveTail(b, 1);
            assertThat(l.refuse(l.dontneed)).isSameAs(b);
            assertThat(a.policyBits & 1).as("not this pass's object").isEqualTo(1);
            assertThat(l.refuse(l.evicted)).as("nothing of that list in the order").isNull();
        }

        @Test
        void removingTheNodeUnderTheHandMovesTheHandOn() {
            l.giveUp(a, b, c);
            assertThat(l.refuse(l.dontneed)).isSameAs(a); // the hand now looks at b
            GemLru.remove(b); // b freed
            assertThat(l.refuse(l.dontneed)).isSameAs(c);
            assertThat(l.order.size()).isEqualTo(2);
        }
    }

    @Nested
    class S3Fifo {
        private final Lists l = new Lists(new S3FifoOrder());

        private boolean inMain(Node n) {
            return (n.policyBits & 0x4) != 0;
        }

        @Test
        void anUnusedNewObjectIsTheVictimAndItsKeyEntersTheGhostQueue() {
            l.giveUp(a, b);
            assertThat(l.reclaim(l.dontneed)).isSameAs(a);
            Node again = new Node("a again", a.key);
            l.dontneed.moveTail(again, 1);
            assertThat(inMain(again)).as("remembered by the ghost queue: straight to main").isTrue();
            assertThat(inMain(b)).isFalse();
        }

        @Test
        void aUsedNewObjectMovesToMainInsteadOfBeingReclaimed() {
            l.giveUp(a, b);
            l.hit(a);
            assertThat(l.reclaim(l.dontneed)).isSameAs(b);
            assertThat(inMain(a)).isTrue();
            assertThat(a.policyBits & 0x3).as("frequency reset on promotion").isZero();
        }

        @Test
        void mainReinsertsAUsedObjectWithItsFrequencyLowered() {
            l.giveUp(a, b, c);
            l.hit(a);
            l.hit(b);
            assertThat(l.reclaim(l.dontneed)).isSameAs(c); // a and b promoted to main on the way
            for (int i = 0; i < 5; i++) {
                l.hit(a);
            }
            assertThat(a.policyBits & 0x3).as("frequency saturates at 3").isEqualTo(3);
            assertThat(l.reclaim(l.dontneed)).isSameAs(b);
            assertThat(a.policyBits & 0x3).isEqualTo(2);
        }

        @Test
        void smallIsSkippedWhileItHoldsLessThanATenth() {
            Node[] olds = new Node[10];
            for (int i = 0; i < olds.length; i++) {
                olds[i] = new Node("old" + i, 100 + i);
                l.dontneed.moveTail(olds[i], 1);
            }
            l.dontneed.moveTail(c, 1);
            for (Node o : olds) {
                l.hit(o);
            }
            assertThat(l.reclaim(l.dontneed)).as("the olds promoted to main on the way").isSameAs(c);
            l.dontneed.moveTail(d, 1); // small: 1 of 11 objects, under a tenth
            assertThat(l.reclaim(l.dontneed)).isSameAs(olds[0]);
            assertThat(l.reclaim(l.dontneed)).as("small: 1 of 10 objects, a tenth").isSameAs(d);
        }
    }

    @Nested
    class WTinyLfu {
        private final WTinyLfuOrder order = new WTinyLfuOrder(64);
        private final Lists l = new Lists(order);

        @Test
        void theWindowsOverflowIsAdmittedOnlyWhenMoreFrequentThanProbationsOldest() {
            l.giveUp(a, b, c); // a, then b, move from the window to probation as candidates
            // Contest: b (newest of probation, unjudged) against a (oldest): equal frequency, the candidate loses.
            assertThat(l.refuse(l.dontneed)).isSameAs(b);
            // b was not reclaimed; judged once, it is no candidate any more: the oldest of probation is next.
            assertThat(l.refuse(l.dontneed)).isSameAs(a);
        }

        @Test
        void aFrequentCandidateWins() {
            l.giveUp(a, b, c); // a, b in probation; c in the window
            l.hit(c);
            l.hit(c);
            l.dontneed.moveTail(d, 1); // c -> probation, candidate, seen three times
            // a was judged? no: a is probation's oldest, c its newest candidate; c is more frequent, so a goes.
            assertThat(l.reclaim(l.dontneed)).isSameAs(a);
            assertThat(order.size()).isEqualTo(3);
        }

        @Test
        void aUseInProbationPromotesToProtectedAndTheOldestOfProbationGoesFirst() {
            l.giveUp(a, b, c); // a, b in probation
            l.hit(a);
            assertThat(a.policyBits & 0x3).as("protected").isEqualTo(2);
            // b is probation's only object: no contest, it is the victim; a is protected.
            assertThat(l.reclaim(l.dontneed)).isSameAs(b);
            assertThat(l.reclaim(l.dontneed)).isSameAs(a);
            assertThat(l.reclaim(l.dontneed)).isSameAs(c);
            assertThat(l.reclaim(l.dontneed)).isNull();
        }
    }

    @Nested
    class Sketch {
        @Test
        void countsSaturateAtFifteenAndHalveAfterTenTimesTheWidth() {
            FrequencySketch s = new FrequencySketch(16);
            for (int i = 0; i < 20; i++) {
                s.increment(42);
            }
            assertThat(s.frequency(42)).isEqualTo(15);
            assertThat(s.frequency(43)).isLessThan(15);
            for (int i = 20; i < 160; i++) {
                s.increment(1000 + i);
            }
            assertThat(s.frequency(42)).as("halved at 160 additions").isEqualTo(7);
        }

        @Test
        void widthIsThePowerOfTwoAtOrAboveTheEntries() {
            assertThat(FrequencySketch.widthFor(1)).isEqualTo(16);
            assertThat(FrequencySketch.widthFor(16)).isEqualTo(16);
            assertThat(FrequencySketch.widthFor(17)).isEqualTo(32);
            assertThat(FrequencySketch.widthFor(Integer.MAX_VALUE)).isEqualTo(1 << 22);
        }
    }
}
