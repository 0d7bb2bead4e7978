package dev.gemshrink.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.core.GemDevice;
import dev.gemshrink.core.LeakDetection;
import dev.gemshrink.core.Madv;
import dev.gemshrink.core.ShmemObject;
import dev.gemshrink.memory.PagePool;
import dev.gemshrink.memory.SwapStore;
import dev.gemshrink.testing.Invariants;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JFR event {@code dev.gemshrink.ShrinkScan}: one per shrinker scan with the shrinker's name, target, pages
 * scanned, freed and skipped when a recording enables it, and none when no recording does (it is off by default).
 */
class ShrinkScanEventTest {
    private static final String EVENT = "dev.gemshrink.ShrinkScan";

    @TempDir
    Path dir;

    /** Runs {@code body} inside a recording (enabling the event or not) and returns the scan events recorded. */
    private List<RecordedEvent> record(boolean enable, Runnable body) throws Exception {
        Path file = dir.resolve("rec-" + System.nanoTime() + ".jfr");
        try (Recording rec = new Recording()) {
            if (enable) {
                rec.enable(EVENT);
            } else {
                rec.enable("jdk.ThreadSleep"); // a recording of something else
            }
            rec.start();
            body.run();
            rec.stop();
            rec.dump(file);
        }
        return RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals(EVENT))
                .collect(Collectors.toList());
    }

    @Test
    void anEnabledRecordingHasOneEventPerScan() throws Exception {
        ShrinkerRegistry registry = new ShrinkerRegistry();
        FakeShrinker f = new FakeShrinker("jfr-fake", 100);
        f.onScan = sc -> {
            sc.nrScanned(6);
            sc.report(0, 0, 2);
            return 5;
        };
        ShrinkerRegistry.Registration r = registry.register(f);
        List<RecordedEvent> events = record(true, () -> assertThat(r.scan(10)).isEqualTo(5));
        assertThat(events).hasSize(1);
        RecordedEvent e = events.get(0);
        assertThat(e.getString("shrinker")).isEqualTo("jfr-fake");
        assertThat(e.getLong("target")).isEqualTo(10);
        assertThat(e.getLong("scanned")).isEqualTo(6);
        assertThat(e.getLong("freed")).isEqualTo(5);
        assertThat(e.getLong("skipped")).isEqualTo(2);
        assertThat(e.getDuration().isNegative()).isFalse();
        assertThat(e.getEventType().getLabel()).isEqualTo("Shrinker Scan");
        assertThat(e.getEventType().getCategoryNames()).containsExactly("gemshrink");
    }

    @Test
    void aStopIsRecordedAsNothingFreed() throws Exception {
        ShrinkerRegistry registry = new ShrinkerRegistry();
        FakeShrinker f = new FakeShrinker("stopper", 100);
        f.onScan = sc -> Shrinker.STOP;
        ShrinkerRegistry.Registration r = registry.register(f);
        List<RecordedEvent> events = record(true, () -> r.scan(3));
        assertThat(events).hasSize(1);
        assertThat(events.get(0).getLong("freed")).isZero();
        assertThat(events.get(0).getLong("target")).isEqualTo(3);
    }

    @Test
    void theDeviceShrinkersScansAreRecorded() throws Exception {
        try (GemDevice device = GemDevice.builder().name("jfr-gem").ramPages(64).swap(SwapStore.none())
                .leakDetection(LeakDetection.SIMPLE).build()) {
            ShmemObject o = device.createObject("o", 4L * PagePool.PAGE_SIZE);
            o.getPagesSgt();
            o.madvise(Madv.DONTNEED);
            Invariants.assertClean(device);
            List<RecordedEvent> events = record(true, () -> device.shrinker().scan(4));
            Invariants.assertClean(device);
            assertThat(o.madv()).isEqualTo(Madv.PURGED);
            assertThat(events).hasSize(1);
            assertThat(events.get(0).getString("shrinker")).isEqualTo("jfr-gem");
            assertThat(events.get(0).getLong("target")).isEqualTo(4);
            assertThat(events.get(0).getLong("freed")).isEqualTo(4);
            assertThat(events.get(0).getLong("scanned")).isEqualTo(4);
        }
    }

    @Test
    void withoutEnablingItNoEventIsRecorded() throws Exception {
        ShrinkerRegistry registry = new ShrinkerRegistry();
        FakeShrinker f = new FakeShrinker("quiet", 1 << 20);
        ShrinkerRegistry.Registration r = registry.register(f);
        List<RecordedEvent> events = record(false, () -> {
            r.scan(10);
            registry.reclaim(100, true);
        });
        assertThat(f.scanCalls()).isEqualTo(2);
        assertThat(events).isEmpty();
        // And with no recording at all, scans still work.
        assertThat(r.scan(1)).isEqualTo(1);
    }
}
