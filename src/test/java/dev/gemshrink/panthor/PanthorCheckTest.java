package dev.gemshrink.panthor;

import static dev.gemshrink.panthor.PanthorTesting.PAGE;
import static dev.gemshrink.panthor.PanthorTesting.assertClean;
import static dev.gemshrink.panthor.PanthorTesting.device;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.checking.Violation;
import dev.gemshrink.core.ScatterList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link PanthorDevice#check()} reports what only the driver knows is wrong: a page table entry that points at a frame
 * its BO does not hold, or at any frame once the BO was evicted; a BO reference no binding or handle holds; a bound
 * range its BO does not list; and anything left once every client is closed. Each broken state is planted through
 * package-private seams, reported, then repaired, after which the checker is clean again.
 */
@Timeout(60)
class PanthorCheckTest {
    private static final long VA = 1L << 32;

    private static List<String> rules(PanthorDevice dev) {
        return dev.check().stream().map(Violation::rule).toList();
    }

    @Test
    void anEntryLeftPointingAtAnEvictedBosOldFrameIsReported() {
        try (PanthorDevice dev = device(64, 64)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("bo", 4 * PAGE, 0, vm);
            VmBinding b = vm.bind(bo, 0, 4 * PAGE, VA);
            ScatterList before = bo.withResv(() -> bo.shmem().getPagesSgt());
            assertThat(bo.reclaim()).isEqualTo(4);
            assertClean(dev);
            vm.map(b, before); // planted: the entries the eviction cleared, written back
            assertThat(rules(dev)).contains("reclaimed-has-no-pte");
            vm.clear(b);
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void anEntryPointingAtAnotherBosFrameIsReported() {
        try (PanthorDevice dev = device(64, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo a = c.createBo("a", 2 * PAGE, 0, vm);
            PanthorBo other = c.createBo("other", 2 * PAGE, 0, vm);
            VmBinding b = vm.bind(a, 0, 2 * PAGE, VA);
            vm.bind(other, 0, 2 * PAGE, VA + 2 * PAGE);
            ScatterList own = a.withResv(() -> a.shmem().getPagesSgt());
            ScatterList foreign = other.withResv(() -> other.shmem().getPagesSgt());
            vm.clear(b);
            vm.map(b, foreign); // planted: a's range maps other's frames
            assertThat(rules(dev)).contains("pte-matches-page");
            vm.clear(b);
            vm.mapIfCleared(b, own);
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aReferenceWithoutABindingOrHandleIsReported() {
        try (PanthorDevice dev = device(64, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("bo", PAGE, 0, vm);
            vm.bind(bo, 0, PAGE, VA);
            assertThat(bo.tryRef()).isTrue(); // planted: nobody holds this reference
            assertThat(rules(dev)).containsExactly("bo-refs-equal-bindings");
            bo.unref();
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void aBoundRangeItsBoDoesNotListIsReported() {
        try (PanthorDevice dev = device(64, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("bo", PAGE, 0, vm);
            VmBinding b = vm.bind(bo, 0, PAGE, VA);
            assertThat(bo.detach(b)).isTrue(); // planted: unlisted by the BO, still holding its range in the VM
            assertThat(rules(dev)).contains("range-has-owner", "bo-refs-equal-bindings");
            bo.attach(b);
            assertClean(dev);
            c.close();
            assertClean(dev);
        }
    }

    @Test
    void whatIsLeftAfterEveryClientIsClosedIsReported() {
        try (PanthorDevice dev = device(64, 0)) {
            PanthorClient c = dev.openClient("c");
            PanthorVm vm = c.createVm("vm");
            PanthorBo bo = c.createBo("bo", 2 * PAGE, 0, vm);
            vm.bind(bo, 0, 2 * PAGE, VA);
            assertThat(bo.tryRef()).isTrue(); // planted: keeps the BO alive after its client is closed
            c.close();
            assertThat(dev.clients()).isEmpty();
            List<Violation> v = dev.check();
            assertThat(v).extracting(Violation::rule).contains("device-holds-nothing", "bo-refs-equal-bindings");
            assertThat(v).filteredOn(x -> x.rule().equals("device-holds-nothing")).extracting(Violation::detail)
                    .anySatisfy(d -> assertThat(d).contains("1 BOs"))
                    .anySatisfy(d -> assertThat(d).contains("2 RAM pages"));
            bo.unref();
            assertClean(dev);
            assertThat(dev.bos()).isEmpty();
        }
    }
}
