package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemshrink.Errno;
import dev.gemshrink.GemException;
import dev.gemshrink.core.GemDevice;
import org.junit.jupiter.api.Test;

class ReclaimPolicyTest {
    @Test
    void lruIsTheDefaultAndFirstBuiltIn() {
        assertThat(ReclaimPolicy.builtIns()).first().isSameAs(ReclaimPolicy.lru());
        try (GemDevice d = GemDevice.builder().ramPages(16).build()) {
            assertThat(d.reclaimPolicy()).isSameAs(ReclaimPolicy.lru());
        }
    }

    @Test
    void theBuiltInsAreLruSieveS3fifoAndWtinylfuInThatOrder() {
        assertThat(ReclaimPolicy.builtIns()).extracting(ReclaimPolicy::name)
                .containsExactly("lru", "sieve", "s3fifo", "wtinylfu");
        for (ReclaimPolicy p : ReclaimPolicy.builtIns()) {
            try (GemDevice d = GemDevice.builder().ramPages(16).reclaimPolicy(p).build()) {
                assertThat(d.reclaimPolicy()).isSameAs(p);
                assertThat(d.lru(dev.gemshrink.core.Placement.PURGEABLE).order() == null)
                        .as("only lru keeps the lists' own order").isEqualTo(p == ReclaimPolicy.lru());
            }
        }
    }

    @Test
    void everyBuiltInIsFoundByItsName() {
        for (ReclaimPolicy p : ReclaimPolicy.builtIns()) {
            assertThat(ReclaimPolicy.named(p.name())).containsSame(p);
            assertThat(p.name()).matches("[a-z0-9]+");
        }
        assertThat(ReclaimPolicy.named("LRU")).isEmpty();
        assertThat(ReclaimPolicy.named("mru")).isEmpty();
    }

    @Test
    void builderRefusesNoPolicy() {
        assertThatThrownBy(() -> GemDevice.builder().reclaimPolicy(null))
                .isInstanceOfSatisfying(GemException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL))
                .hasMessageContaining("reclaimPolicy");
    }
}
