package dev.gemshrink.core;

import static dev.gemshrink.core.ShmemObjectLincheckTest.op;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.gemshrink.GemException;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.testing.CapturedLog;
import java.util.List;
import java.util.function.Supplier;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of the {@code with} forms ({@link ShmemObject#withPin}, {@link ShmemObject#withPages},
 * {@link ShmemObject#withVmap}) racing each other, the owner objects' locked 0 -&gt; 1 and 1 -&gt; 0 transitions
 * ({@link #pinUnpin}, {@link #vmapVunmap}, {@link #getPutPages}) and {@link ShmemObject#free()}: every interleaving
 * explored must be explainable by a sequential order (before the free every call succeeds and sees its reference;
 * after it every call is ENOENT), and the {@link InvariantChecker} must find nothing after each part. Tracking is off,
 * so a call that finds its count above zero takes the lock-free path with no owner object; one that finds it at zero
 * takes the locked path. Every operation holds its reference only for its own duration, so a free never leaves a
 * leak behind and the object is retired once the last of them returns.
 *
 * <p>The object (2 pages, in a pool of 8) starts resident with its stored sg table, so a page use is lock-free from
 * the start and a free releases that use.
 */
public class HeldCallLincheckTest {
    private final GemDevice device = GemDevice.builder().ramPages(8).leakDetection(LeakDetection.SIMPLE).build();
    private final ShmemObject obj = device.createObject("held", 2L * 4096);

    /** Creates the device and the object, with its stored sg table. */
    public HeldCallLincheckTest() {
        obj.getPagesSgt();
    }

    /** What the calls run: whether the reference they hold is visible (count above zero, pages resident). */
    private static final HeldCall<RefKind, String> SEES = (o, ref) -> {
        int count = switch (ref) {
            case PIN -> o.pinCount();
            case PAGES -> o.pagesUseCount();
            case VMAP -> o.vmapCount();
            case EXPORT -> throw new IllegalArgumentException(ref.name());
        };
        return count >= 1 && o.isResident() ? "ok" : "bad:" + ref + "=" + count + ",resident=" + o.isResident();
    };

    /**
     * Runs a call holding a pin.
     *
     * @return "ok", "bad:..." when the pin was not visible, or the errno name
     */
    @Operation
    public String withPin() {
        return orErrno(() -> obj.withPin(SEES, RefKind.PIN));
    }

    /**
     * Runs a call holding a page use.
     *
     * @return "ok", "bad:..." when the use was not visible, or the errno name
     */
    @Operation
    public String withPages() {
        return orErrno(() -> obj.withPages(SEES, RefKind.PAGES));
    }

    /**
     * Runs a call holding a CPU mapping.
     *
     * @return "ok", "bad:..." when the mapping was not visible, or the errno name
     */
    @Operation
    public String withVmap() {
        return orErrno(() -> obj.withVmap(SEES, RefKind.VMAP));
    }

    /**
     * Pins and unpins through an owner object.
     *
     * @return "ok" or the errno name
     */
    @Operation
    public String pinUnpin() {
        return orErrno(() -> closed(obj.pin()));
    }

    /**
     * Maps and unmaps through an owner object.
     *
     * @return "ok" or the errno name
     */
    @Operation
    public String vmapVunmap() {
        return orErrno(() -> closed(obj.vmap()));
    }

    /**
     * Takes and puts a page use through an owner object.
     *
     * @return "ok" or the errno name
     */
    @Operation
    public String getPutPages() {
        return orErrno(() -> closed(obj.getPages()));
    }

    /**
     * Frees the object. Its leak report is not returned: a call in flight may be counted in it, which no sequential
     * order explains; the checker's "a freed object holds nothing" after the part covers what the report would.
     *
     * @return "ok" or the errno name (ENOENT the second time)
     */
    @Operation
    public String free() {
        return orErrno(() -> obj.free() != null ? "ok" : "no report");
    }

    /** Closes an owner at once: "ok". */
    private static String closed(Owner o) {
        o.close();
        return "ok";
    }

    /** An operation's result, or the errno name of the {@link GemException} it threw. */
    private static String orErrno(Supplier<String> op) {
        try {
            return op.get();
        } catch (GemException e) {
            return e.errno().name();
        }
    }

    /** Fails when the invariant checker finds any violation on the device, or a freed object is still known. */
    @Validate
    public void checkInvariants() {
        ShmemObjectLincheckTest.requireNoViolations(device);
        if (obj.isFreed() && !device.objects().isEmpty()) {
            throw new AssertionError("freed with nothing held but still known: " + device.objects());
        }
    }

    /**
     * Model checks random scenarios; half as many by default as {@link ShmemObjectLincheckTest} (each operation here
     * does more), the same properties search deeper.
     */
    @Test
    void randomScenarios() {
        expectingOnlyLeakWarnings(() -> ShmemObjectLincheckTest.options(
                Integer.getInteger("gemshrink.lincheck.iterations", 10),
                Integer.getInteger("gemshrink.lincheck.invocations", 20))
                .check(HeldCallLincheckTest.class));
    }

    /** Model checks hand-written scenarios that line a lock-free call up against a locked transition and a free. */
    @Test
    void targetedScenarios() {
        expectingOnlyLeakWarnings(() -> targeted(ShmemObjectLincheckTest.options(0,
                Integer.getInteger("gemshrink.lincheck.targetedInvocations", 150)))
                .check(HeldCallLincheckTest.class));
    }

    /**
     * Runs a model check, capturing the object's log: a free that an interleaving puts inside a call warns that the
     * call's references were live (what free must say), and nothing else may be logged.
     */
    private static void expectingOnlyLeakWarnings(Runnable check) {
        try (CapturedLog log = CapturedLog.of(ShmemObject.class)) {
            check.run();
            assertThat(log.messages(Level.WARN)).allSatisfy(m -> assertThat(m).startsWith("held freed with live owners"));
        }
    }

    private static ModelCheckingOptions targeted(ModelCheckingOptions o) {
        return o
                // A call's lock-free pin against the locked 0 -> 1 -> 0 of an owner's pin and a free in between.
                .addCustomScenario(ShmemObjectLincheckTest.scenario(HeldCallLincheckTest.class, List.of(),
                        List.of(List.of(op("withPin"), op("withPin")), List.of(op("pinUnpin")), List.of(op("free"))),
                        List.of(op("withPin"))))
                // A lock-free page use (the sg table's use holds the count) against the free releasing that use.
                .addCustomScenario(ShmemObjectLincheckTest.scenario(HeldCallLincheckTest.class, List.of(),
                        List.of(List.of(op("withPages"), op("getPutPages")), List.of(op("free")),
                                List.of(op("withPages"))),
                        List.of(op("withPages"))))
                // Mappings, whose first one also takes the pin, against each other and a free.
                .addCustomScenario(ShmemObjectLincheckTest.scenario(HeldCallLincheckTest.class, List.of(),
                        List.of(List.of(op("withVmap"), op("vmapVunmap")), List.of(op("withVmap"), op("withPin")),
                                List.of(op("free"))),
                        List.of(op("withVmap"))));
    }
}
