package dev.gemshrink.testing;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.gemshrink.core.LeakReport;
import dev.gemshrink.core.ShmemObject;
import org.assertj.core.api.InstanceOfAssertFactories;

/** Frees an object that a test leaks on purpose, capturing and checking the warning the free logs. */
public final class LeakWarnings {
    private LeakWarnings() {
    }

    /**
     * Frees an object that still has live owners and checks that exactly that leak was warned about.
     *
     * @param obj the object, with live owners
     * @return the free's leak report
     */
    public static LeakReport freeLeaking(ShmemObject obj) {
        LeakReport report;
        try (CapturedLog log = CapturedLog.of(ShmemObject.class)) {
            report = obj.free();
            assertThat(log.messages(Level.WARN)).singleElement(InstanceOfAssertFactories.STRING)
                    .startsWith(obj.name() + " freed with live owners");
        }
        return report;
    }
}
