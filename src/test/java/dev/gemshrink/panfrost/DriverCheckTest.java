package dev.gemshrink.panfrost;

import static dev.gemshrink.panfrost.PanfrostTesting.PAGE;
import static dev.gemshrink.panfrost.PanfrostTesting.SZ_2M;
import static dev.gemshrink.panfrost.PanfrostTesting.assertClean;
import static dev.gemshrink.panfrost.PanfrostTesting.assertEmpty;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.checking.Violation;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link PanfrostDevice#check()} sees what the driver holds: every mapping reference has a holder (its client's
 * handle, or a job in flight), every VA range an owner, a BO's references are its mappings (plus the creator's while
 * it is being created), and once every client is closed and every job finished the device holds nothing. Leaks
 * are planted through package-private seams that take a reference without a holder.
 */
@Timeout(60)
class DriverCheckTest {
    private static final int NOEXEC = BoFlags.NOEXEC;
    private static final int HEAP = BoFlags.HEAP | BoFlags.NOEXEC;

    private static PanfrostDevice device() {
        return PanfrostDevice.builder().name("check").ramPages(1024).build();
    }

    private static List<String> rules(PanfrostDevice dev) {
        return dev.check().stream().map(Violation::rule).toList();
    }

    @Test
    void aMappingReferenceWithoutAHolderIsReported() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("bo", PAGE, NOEXEC);
            GpuMapping m = c.mapping(bo);
            assertThat(m.tryGet()).isTrue(); // planted: nobody holds this reference
            assertThat(rules(dev)).contains("mapping-refs-equal-holders");
            m.put();
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void aMappingThatNoHandleHoldsIsReported() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostClient other = dev.openClient("other");
            PanfrostBo bo = c.createBo("bo", PAGE, NOEXEC);
            GpuMapping stray = bo.openIn(other.addressSpace()); // planted: mapped, but not in other's table
            assertThat(rules(dev)).contains("mapping-refs-equal-holders");
            stray.put();
            assertClean(dev);
            c.close();
            other.close();
            assertEmpty(dev);
        }
    }

    @Test
    void aBoReferenceWithoutAMappingIsReportedAndTheCreatorsReferenceIsNot() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("bo", PAGE, NOEXEC);
            assertThat(bo.tryRef()).isTrue(); // planted: a BO reference no mapping holds
            assertThat(rules(dev)).contains("bo-refs-equal-mappings");
            bo.unref();
            assertClean(dev);
            // A BO being created holds its creator's reference and no mapping yet: no violation.
            PanfrostBo creating = dev.newBo(c, "creating", PAGE, NOEXEC);
            assertClean(dev);
            creating.dropCreatorRef();
            assertThat(dev.bos()).containsExactly(bo);
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void aVaRangeThatNoBoListsIsReported() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("heap", SZ_2M, HEAP);
            GpuMapping orphan = c.addressSpace().reserve(bo); // planted: VA reserved, never listed by the BO
            assertThat(rules(dev)).contains("va-range-has-owner");
            c.addressSpace().release(orphan);
            assertClean(dev);
            c.close();
            assertEmpty(dev);
        }
    }

    @Test
    void whatIsLeftAfterEveryClientIsClosedIsReported() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("bo", 4 * PAGE, NOEXEC);
            GpuMapping m = c.mapping(bo);
            assertThat(m.tryGet()).isTrue(); // planted: keeps the BO alive after its only handle is closed
            c.close();
            assertThat(dev.clients()).isEmpty();
            List<Violation> v = dev.check();
            assertThat(v).extracting(Violation::rule).contains("device-holds-nothing", "mapping-refs-equal-holders");
            assertThat(v).filteredOn(x -> x.rule().equals("device-holds-nothing")).extracting(Violation::detail)
                    .anySatisfy(d -> assertThat(d).contains("bo"))
                    .anySatisfy(d -> assertThat(d).contains("pages"));
            m.put();
            assertEmpty(dev);
        }
    }

    @Test
    void jobsInFlightHoldTheirMappingsAndAClosedHandleUnderAJobIsNoLeak() {
        try (PanfrostDevice dev = device()) {
            PanfrostClient c = dev.openClient("c");
            PanfrostBo bo = c.createBo("bo", PAGE, NOEXEC);
            Job held = c.submit("held", List.of(bo), GpuWork.NONE, true);
            assertClean(dev);
            c.close(bo);
            c.close();
            assertThat(dev.clients()).isEmpty();
            assertClean(dev); // the job holds the mapping: not idle yet, nothing leaked
            held.complete();
            assertEmpty(dev);
        }
    }
}
