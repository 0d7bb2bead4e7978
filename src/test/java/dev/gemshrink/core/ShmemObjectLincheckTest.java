package dev.gemshrink.core;

import static org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt.forClasses;

import dev.gemshrink.GemException;
import dev.gemshrink.checking.InvariantChecker;
import dev.gemshrink.checking.Violation;
import dev.gemshrink.locking.LockValidator;
import java.lang.reflect.Method;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import kotlin.Unit;
import kotlin.jvm.functions.Function1;
import kotlin.reflect.jvm.ReflectJvmMapping;
import org.jetbrains.lincheck.datastructures.DSLScenarioBuilder;
import org.jetbrains.lincheck.datastructures.DSLThreadScenario;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.ThreadIdGen;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of one {@link ShmemObject} under concurrent pin/unpin, get/put pages, madvise and purge:
 * every interleaving explored must be explainable by some sequential order of the same operations (this class run
 * sequentially is the specification), and the {@link InvariantChecker} must find nothing after each part.
 *
 * <p>The object (2 pages, in a pool of 8) starts with its stored sg table, so it can be purged once DONTNEED.
 * Handles taken by {@link #pin} and {@link #getPages} are kept on a stack <em>per Lincheck thread</em> (the
 * {@link ThreadIdGen} parameter: 0 is the init part, 1..n the parallel threads, n+1 the post part), and
 * {@link #unpin} / {@link #putPages} close the newest one of the calling thread. A shared deque would make the test,
 * not the object, non-linearizable: a handle is counted by the object before it is pushed, so another thread could
 * see an empty deque while the handle's pin already blocks a purge. Per-thread stacks keep "the handle exists" and
 * "the count moved" inside one thread's operation, with no cross-thread observer of the stack. The close of one
 * thread's handle still races with the other threads' lock-free fast paths and locked 0/1 transitions.
 *
 * <p>{@link #pinUnpin()} holds a pin only transiently, which no sequential order can explain to a concurrent
 * {@link #purge()} (it would see EBUSY); so those two are in one non-parallel group.
 *
 * <p>Two runs: {@link #randomScenarios()} (generated scenarios, few interleavings each) and
 * {@link #targetedScenarios()} (hand-written scenarios that line up a fast path against a locked 0/1 transition,
 * with many interleavings each; it finds a planted lost update in the locked unpin). Leaf code (page pool, swap,
 * LRU lists, sg tables, the checker, the thread-confined handle stacks) is treated as atomic so that the explored
 * switch points are the ones that matter.
 */
public class ShmemObjectLincheckTest {
    private static final int THREADS = 3;

    private final GemDevice device = GemDevice.builder().ramPages(8).leakDetection(LeakDetection.SIMPLE).build();
    private final ShmemObject obj = device.createObject("lc", 2L * 4096);
    // Per Lincheck thread id (init, THREADS parallel threads, post); each touched by one thread only.
    private final ArrayDeque<Pin>[] pins = stacks();
    private final ArrayDeque<PagesRef>[] uses = stacks();

    /** Creates the device and the object, with its stored sg table. */
    public ShmemObjectLincheckTest() {
        obj.getPagesSgt();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static <T> ArrayDeque<T>[] stacks() {
        ArrayDeque<T>[] a = new ArrayDeque[THREADS + 2];
        for (int i = 0; i < a.length; i++) {
            a[i] = new ArrayDeque<>();
        }
        return a;
    }

    /**
     * Pins the object and keeps the pin.
     *
     * @param tid the Lincheck thread id
     * @return "ok" or the errno name
     */
    @Operation
    public String pin(@Param(gen = ThreadIdGen.class) int tid) {
        try {
            pins[tid].push(obj.pin());
            return "ok";
        } catch (GemException e) {
            return e.errno().name();
        }
    }

    /**
     * Closes the calling thread's newest kept pin, if any.
     *
     * @param tid the Lincheck thread id
     * @return whether there was a pin to close
     */
    @Operation
    public boolean unpin(@Param(gen = ThreadIdGen.class) int tid) {
        Pin p = pins[tid].poll();
        if (p == null) {
            return false;
        }
        p.close();
        return true;
    }

    /**
     * Pins, checks that the pin is counted and the pages are resident, and unpins.
     *
     * @return "ok", "bad:..." when the pinned object looked unpinned or not resident, or the errno name
     */
    @Operation(nonParallelGroup = "purge")
    public String pinUnpin() {
        Pin p;
        try {
            p = obj.pin();
        } catch (GemException e) {
            return e.errno().name();
        }
        try {
            int c = obj.pinCount();
            boolean resident = obj.isResident();
            return c >= 1 && resident ? "ok" : "bad:pin=" + c + ",resident=" + resident;
        } finally {
            p.close();
        }
    }

    /**
     * Takes a page use and keeps it.
     *
     * @param tid the Lincheck thread id
     * @return "ok" or the errno name
     */
    @Operation
    public String getPages(@Param(gen = ThreadIdGen.class) int tid) {
        try {
            uses[tid].push(obj.getPages());
            return "ok";
        } catch (GemException e) {
            return e.errno().name();
        }
    }

    /**
     * Closes the calling thread's newest kept page use, if any.
     *
     * @param tid the Lincheck thread id
     * @return whether there was a use to close
     */
    @Operation
    public boolean putPages(@Param(gen = ThreadIdGen.class) int tid) {
        PagesRef r = uses[tid].poll();
        if (r == null) {
            return false;
        }
        r.close();
        return true;
    }

    /**
     * Gets the stored sg table.
     *
     * @return the number of pages it describes, or the errno name
     */
    @Operation
    public String sgt() {
        try {
            return Integer.toString(obj.getPagesSgt().pages());
        } catch (GemException e) {
            return e.errno().name();
        }
    }

    /**
     * madvise(DONTNEED).
     *
     * @return retained
     */
    @Operation
    public boolean madviseDontneed() {
        return obj.madvise(Madv.DONTNEED);
    }

    /**
     * madvise(WILLNEED).
     *
     * @return retained
     */
    @Operation
    public boolean madviseWillneed() {
        return obj.madvise(Madv.WILLNEED);
    }

    /**
     * Purges the object.
     *
     * @return the number of pages freed, or the errno name (EBUSY when not purgeable)
     */
    @Operation(nonParallelGroup = "purge")
    public String purge() {
        try {
            return Integer.toString(obj.purge());
        } catch (GemException e) {
            return e.errno().name();
        }
    }

    /** Fails when the invariant checker finds any violation on the device. */
    @Validate
    public void checkInvariants() {
        requireNoViolations(device);
    }

    /**
     * Throws when the invariant checker finds any violation on the device (a plain throw: AssertJ's assertions
     * do not run under Lincheck's instrumentation).
     *
     * @param device the device
     */
    static void requireNoViolations(GemDevice device) {
        List<Violation> v = InvariantChecker.check(device);
        if (!v.isEmpty()) {
            throw new AssertionError("invariant violations: " + v);
        }
    }

    /**
     * Model checks random scenarios. The defaults keep it short; search deeper with for example
     * {@code -Dgemshrink.lincheck.iterations=40 -Dgemshrink.lincheck.invocations=1000} (several minutes).
     */
    @Test
    void randomScenarios() {
        options(Integer.getInteger("gemshrink.lincheck.iterations", 20),
                Integer.getInteger("gemshrink.lincheck.invocations", 20))
                .check(ShmemObjectLincheckTest.class);
    }

    /**
     * Model checks the hand-written scenarios aimed at the fast paths' races, with more interleavings each (a
     * planted lost-update bug in the locked unpin is found with about 300).
     */
    @Test
    void targetedScenarios() {
        targeted(options(0, Integer.getInteger("gemshrink.lincheck.targetedInvocations", 300)))
                .check(ShmemObjectLincheckTest.class);
    }

    /**
     * The model checking options for random scenarios.
     *
     * @param iterations  random scenarios
     * @param invocations interleavings explored per scenario
     * @return the options
     */
    static ModelCheckingOptions options(int iterations, int invocations) {
        return new ModelCheckingOptions()
                .iterations(iterations)
                .invocationsPerIteration(invocations)
                .threads(THREADS)
                .actorsPerThread(3)
                .actorsBefore(2)
                .actorsAfter(1)
                // Leaf code that either runs entirely under the object's reservation lock or under its own leaf
                // lock, and never calls back into an object: no interleaving inside it can matter, and switch
                // points there only dilute the search for the ones in the lock-free fast paths.
                .addGuarantee(forClasses("dev.gemshrink.memory.PagePool", "dev.gemshrink.memory.HeapPageBacking",
                        "dev.gemshrink.memory.MemorySwapStore", "dev.gemshrink.core.ScatterList",
                        "dev.gemshrink.reclaim.GemLru", "dev.gemshrink.checking.InvariantChecker")
                        .allMethods().treatAsAtomic())
                // The handle stacks are confined to one thread each.
                .addGuarantee(forClasses("java.util.ArrayDeque").allMethods().treatAsAtomic())
                .addGuarantee(forClasses("dev.gemshrink.core.GemDevice")
                        .methods("place", "placementOf", "retire", "objects").treatAsAtomic())
                // The lock validator checks lock order, not data races: its own bookkeeping is not explored.
                .addGuarantee(forClasses(LockValidator.class.getName(), LockValidator.class.getName() + "$HeldLocks")
                        .allMethods().ignore());
    }

    /**
     * Adds the hand-written scenarios: random scenarios with this many operation kinds rarely line up the
     * operations a fast-path race needs.
     *
     * @param o the options
     * @return the same options
     */
    static ModelCheckingOptions targeted(ModelCheckingOptions o) {
        return o
                // A pin's lock-free inc_not_zero against the locked 1 -> 0 of the last unpin on another thread.
                .addCustomScenario(scenario(List.of(op("pin", 1)),
                        List.of(List.of(op("unpin", 1)), List.of(op("pin", 2), op("unpin", 2))),
                        List.of()))
                // The same with a transient pin and a purge that must see the pin (or not) consistently.
                .addCustomScenario(scenario(List.of(op("madviseDontneed"), op("pin", 1)),
                        List.of(List.of(op("unpin", 1), op("pin", 1)), List.of(op("pinUnpin"), op("purge")),
                                List.of(op("pin", 3), op("unpin", 3))),
                        List.of(op("purge"))))
                // A page use's lock-free inc_not_zero (resident pages) against purge releasing the sg table's use
                // and the pages, and the locked 1 -> 0 of the last put after the purge.
                .addCustomScenario(scenario(List.of(op("madviseDontneed"), op("getPages", 1)),
                        List.of(List.of(op("putPages", 1), op("getPages", 1)), List.of(op("purge"), op("sgt")),
                                List.of(op("getPages", 3), op("putPages", 3))),
                        List.of(op("getPages", 4))));
    }

    /** One operation of a hand-written scenario: a public method of the test class by name, with its arguments. */
    record Op(String name, Object[] args) {
    }

    static Op op(String name, Object... args) {
        return new Op(name, args);
    }

    private static Function1<DSLScenarioBuilder, Unit> scenario(List<Op> init, List<List<Op>> parallel,
            List<Op> post) {
        return scenario(ShmemObjectLincheckTest.class, init, parallel, post);
    }

    /** A hand-written scenario of operations of the Lincheck test class {@code test}. */
    static Function1<DSLScenarioBuilder, Unit> scenario(Class<?> test, List<Op> init, List<List<Op>> parallel,
            List<Op> post) {
        return b -> {
            b.initial(t -> add(test, t, init));
            b.parallel(p -> {
                for (List<Op> ops : parallel) {
                    p.thread(t -> add(test, t, ops));
                }
                return Unit.INSTANCE;
            });
            b.post(t -> add(test, t, post));
            return Unit.INSTANCE;
        };
    }

    private static Unit add(Class<?> test, DSLThreadScenario t, List<Op> ops) {
        for (Op o : ops) {
            Method m = Arrays.stream(test.getMethods())
                    .filter(x -> x.getName().equals(o.name())).findFirst().orElseThrow();
            t.actor(ReflectJvmMapping.getKotlinFunction(m), o.args());
        }
        return Unit.INSTANCE;
    }
}
