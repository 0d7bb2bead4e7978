package dev.gemshrink.panfrost;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.gemshrink.testing.CapturedLog;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * For tests whose GPU jobs fault on purpose ({@code @ExtendWith(GpuFaultsLogged.class)}): captures what the GPU
 * thread logs during each test and checks, once the test closed its device (which waits for the GPU thread), that it
 * logged nothing but errors of jobs whose work threw a VirtualMachineError, the one kind it logs as an error.
 */
final class GpuFaultsLogged implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(GpuFaultsLogged.class);
    private static final String VM_ERROR_FAULT = "Job\\[[\\w-]+, FAULTED\\] faulted: its work threw "
            + "java\\.lang\\.(StackOverflowError|OutOfMemoryError)(: injected)?; the GPU goes on with the next job";

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("log", CapturedLog.of(Gpu.class));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        CapturedLog log = context.getStore(NS).get("log", CapturedLog.class);
        log.close();
        assertThat(log.events()).allSatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.ERROR);
            assertThat(e.getFormattedMessage()).matches(VM_ERROR_FAULT);
        });
    }
}
