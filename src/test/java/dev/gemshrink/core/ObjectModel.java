package dev.gemshrink.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemshrink.Errno;
import dev.gemshrink.memory.PagePool;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The one model of buffer objects the property tests check {@link ShmemObject} against: the generated operations
 * and scenarios, the outcomes of calls, and a plain model of the objects, the RAM budget and the swap written from
 * the spec (counts, madvise, residency, eviction, purge, free and leaks). {@link #predict} gives the result of a
 * successful call or the exact {@link Errno}, and applies the call to the model.
 *
 * <p>A test's run extends it: {@link #allocate} is how the pool finds frames (by default an allocation that does
 * not fit fails; a run with the shrinker overrides it with direct reclaim), {@link #predictOther} predicts the
 * test's own operations, and {@link #tag} counts the paths the model takes (coverage).
 */
abstract class ObjectModel {
    // ------------------------------------------------------------------ generated input

    /** The operations; each targets one object, the handle ones pick a handle of that object by index. */
    enum Kind {
        GET_PAGES, PUT, PIN, UNPIN, VMAP, VUNMAP, VMAP_READ, VMAP_WRITE, GET_PAGES_SGT, GET_SG_TABLE,
        MADV_WILLNEED, MADV_DONTNEED, MADV_PURGED, PURGE, EVICT, EXPORT, CLOSE_EXPORT, FREE, READ, WRITE,
        SHRINK, LOCK_RESV, UNLOCK_RESV
    }

    /** The kinds of handle the test keeps, one list per object, closed ones included (for double closes). */
    enum HandleType {
        PAGES, PIN, VMAP, EXPORT
    }

    /**
     * One generated operation.
     *
     * @param kind  what to do
     * @param obj   the object index (ignored by SHRINK and UNLOCK_RESV)
     * @param idx   the handle index (modulo the handles of the needed type), or for GET_PAGES the owner kind;
     *              LOCK_RESV with idx < 4 locks the head of the evictable (else purgeable) list instead of obj
     * @param where encodes the offset of a byte access
     * @param len   encodes the length of a byte access, or the target of a SHRINK
     */
    record Op(Kind kind, int obj, int idx, int where, int len) {
        @Override
        public String toString() {
            if (kind == Kind.SHRINK) {
                return "SHRINK(" + shrinkTarget(len) + ")";
            }
            if (kind == Kind.UNLOCK_RESV) {
                return "UNLOCK_RESV";
            }
            if (kind == Kind.LOCK_RESV && idx < 4) {
                return "LOCK_RESV(lru-head else o" + obj + ")";
            }
            return kind + "(o" + obj + ",i" + idx + (needsRange(kind) ? ",w" + where + ",l" + len
                    : kind == Kind.GET_PAGES && idx == 7 ? ",w" + where : "") + ")";
        }
    }

    /**
     * One generated test case.
     *
     * @param sizes     object sizes in bytes (rounded up to pages by the device)
     * @param ramPages  the RAM budget
     * @param swapPages the swap capacity
     * @param flags     bit 0: teardown frees before closing handles; bit 1: close handles newest first; bits
     *                  2-3 == 0: PARANOID leak detection
     * @param ops       the operations
     */
    record Scenario(List<Integer> sizes, int ramPages, int swapPages, int flags, List<Op> ops) {
        @Override
        public String toString() {
            List<String> shown = new ArrayList<>();
            for (int i = 0; i < ops.size(); ) {
                int j = i;
                while (j < ops.size() && ops.get(j).equals(ops.get(i))) {
                    j++;
                }
                shown.add(ops.get(i) + (j - i > 1 ? " x" + (j - i) : ""));
                i = j;
            }
            return "sizes=" + sizes + " ram=" + ramPages + " swap=" + swapPages + " flags=" + flags + " ops("
                    + ops.size() + ")=" + shown;
        }
    }


    /** A kind of operation with its weight, for a generator of operations. */
    static Pair<Integer, Gen<Kind>> w(int weight, Kind k) {
        return Pair.of(weight, Generate.constant(k));
    }

    /** Whether an operation accesses a byte range. */
    static boolean needsRange(Kind k) {
        return k == Kind.VMAP_READ || k == Kind.VMAP_WRITE || k == Kind.READ || k == Kind.WRITE;
    }

    /** The pages a SHRINK asks for: often 1 to 3 (so part of a list stays unscanned), up to 14, 0 or a batch. */
    static int shrinkTarget(int len) {
        return len < 4 ? 0 : len < 40 ? 1 : len < 60 ? 2 + len % 2 : len < 92 ? 1 + (len - 4) % 14 : 128;
    }

    // ------------------------------------------------------------------ outcomes and actions

    /** What a call did: an errno, or success with a printable value and possibly bytes; or skipped (no handle). */
    static final class Outcome {
        static final Outcome SKIP = new Outcome(null, "skip", null);

        final Errno errno;
        final String value;
        final byte[] bytes;

        private Outcome(Errno errno, String value, byte[] bytes) {
            this.errno = errno;
            this.value = value;
            this.bytes = bytes;
        }

        static Outcome ok(String value) {
            return new Outcome(null, value, null);
        }

        static Outcome ok(byte[] bytes) {
            return new Outcome(null, "bytes", bytes);
        }

        static Outcome err(Errno e) {
            return new Outcome(e, null, null);
        }

        String key() {
            return errno != null ? errno.name() : this == SKIP ? "skip" : "ok";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Outcome x && errno == x.errno && Objects.equals(value, x.value)
                    && Arrays.equals(bytes, x.bytes);
        }

        @Override
        public int hashCode() {
            return Objects.hash(errno, value) * 31 + Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            if (errno != null) {
                return "error " + errno;
            }
            if (bytes == null) {
                return "ok " + value;
            }
            StringBuilder sb = new StringBuilder("ok ").append(bytes.length).append(" bytes [");
            for (int i = 0; i < Math.min(bytes.length, 24); i++) {
                sb.append(String.format("%02x", bytes[i] & 0xff));
            }
            return sb.append(bytes.length > 24 ? "...]" : "]").toString();
        }
    }

    /** A handle the test took, with the model's idea of whether it is live. */
    static final class Handle {
        final HandleType type;
        final OwnerKind kind;
        final Owner owner;
        boolean live = true;

        Handle(HandleType type, OwnerKind kind, Owner owner) {
            this.type = type;
            this.kind = kind;
            this.owner = owner;
        }

        @Override
        public String toString() {
            return kind + (live ? "" : "(closed)");
        }
    }

    /**
     * An operation resolved against the current handles.
     *
     * @param kind      what to do
     * @param obj       the object index
     * @param handle    the handle a handle operation uses, or null when the object has none of that type
     * @param pagesKind the owner kind for GET_PAGES
     * @param off       the byte offset of an access
     * @param len       the byte length of an access, or the pages a SHRINK asks for
     * @param step      the step number (seeds written bytes)
     */
    record Action(Kind kind, int obj, Handle handle, OwnerKind pagesKind, long off, int len, int step) {
        byte[] pattern() {
            byte[] b = new byte[len];
            for (int i = 0; i < len; i++) {
                b[i] = (byte) (step * 131 + obj * 17 + i * 7 + (i >>> 9) + 1);
            }
            return b;
        }

        @Override
        public String toString() {
            if (kind == Kind.SHRINK) {
                return "#" + step + " SHRINK(" + len + ")";
            }
            if (kind == Kind.UNLOCK_RESV) {
                return "#" + step + " UNLOCK_RESV";
            }
            return "#" + step + " " + kind + " o" + obj + (handle != null ? " " + handle : "")
                    + (kind == Kind.GET_PAGES ? " " + pagesKind : "")
                    + (needsRange(kind) ? " off=" + off + " len=" + len : "");
        }
    }

    // ------------------------------------------------------------------ the model

    /** The model of one object: plain fields, changed by the spec's rules only. */
    static final class ModelObject {
        final String name;
        final int pages;
        final byte[] data;
        final List<Handle> handles = new ArrayList<>();
        boolean freed;
        boolean retired;
        int use;
        int pin;
        int vmap;
        int exports;
        Madv madv = Madv.WILLNEED;
        boolean sgt;
        boolean resident;
        boolean evicted;

        ModelObject(String name, int pages) {
            this.name = name;
            this.pages = pages;
            this.data = new byte[pages * PagePool.PAGE_SIZE];
        }

        long size() {
            return (long) pages * PagePool.PAGE_SIZE;
        }

        boolean purgeable() {
            return madv == Madv.DONTNEED && pin == 0 && sgt && (resident || evicted) && exports == 0;
        }

        boolean evictable() {
            return madv == Madv.WILLNEED && pin == 0 && sgt && resident && exports == 0;
        }

        /** The list the state implies (docs/kernel-model.md section 3). */
        Placement placement() {
            if (freed || madv == Madv.PURGED) {
                return Placement.NONE;
            }
            if (evicted) {
                return purgeable() ? Placement.EVICTED_PURGEABLE : Placement.EVICTED;
            }
            if (!resident) {
                return Placement.NONE;
            }
            if (purgeable()) {
                return Placement.PURGEABLE;
            }
            return evictable() ? Placement.EVICTABLE : Placement.PINNED;
        }

        Map<OwnerKind, Integer> liveOwners() {
            Map<OwnerKind, Integer> m = new EnumMap<>(OwnerKind.class);
            for (Handle h : handles) {
                if (h.live) {
                    m.merge(h.kind, 1, Integer::sum);
                }
            }
            if (pin > 0) {
                m.put(OwnerKind.PAGES_PIN, 1);
            }
            if (vmap > 0) {
                m.put(OwnerKind.PIN_VMAP, 1);
            }
            if (sgt) {
                m.put(OwnerKind.PAGES_SGT, 1);
            }
            return m;
        }

        @Override
        public String toString() {
            return name + "{pages=" + pages + " use=" + use + " pin=" + pin + " vmap=" + vmap + " madv=" + madv
                    + " sgt=" + sgt + " resident=" + resident + " evicted=" + evicted + " exports=" + exports
                    + (freed ? " FREED" : "") + (retired ? " RETIRED" : "") + " handles=" + handles + "}";
        }
    }

    // ------------------------------------------------------------------ the model of the device

    /** The objects, by index. */
    final ModelObject[] model;
    /** The RAM budget in pages. */
    final int ramCap;
    /** The swap capacity in pages. */
    final int swapCap;
    /** RAM pages in use. */
    int ram;
    /** Swap pages in use. */
    int swap;

    /**
     * Creates the model of an empty device; the run fills {@link #model}.
     *
     * @param objects how many objects
     * @param ramCap  the RAM budget in pages
     * @param swapCap the swap capacity in pages
     */
    ObjectModel(int objects, int ramCap, int swapCap) {
        this.model = new ModelObject[objects];
        this.ramCap = ramCap;
        this.swapCap = swapCap;
    }

    /** Counts one visit of a path of the model (coverage). */
    abstract void tag(String path);

    /** Allocates {@code n} pages, or returns false: here without reclaim, so what does not fit fails. */
    boolean allocate(int n) {
        if (ramFree() < n) {
            return false;
        }
        ram += n;
        return true;
    }

    /** Predicts an operation {@link #predict} does not know (a test's own); the default refuses. */
    Outcome predictOther(Action a, ModelObject m) {
        throw new AssertionError(a.kind());
    }

    void purgeObject(ModelObject m) {
        m.madv = Madv.PURGED;
        m.sgt = false;
        m.use--;
        releaseBacking(m);
    }

    void evictObject(ModelObject m) {
        ram -= m.pages;
        swap += m.pages;
        m.resident = false;
        m.evicted = true;
    }

    int ramFree() {
        return ramCap - ram;
    }

    boolean inRange(Action a, ModelObject m) {
        return a.off() >= 0 && a.off() <= m.size() - a.len();
    }

    /** Takes one page use: allocates on first use, swaps an evicted object in. */
    private Errno takeUse(ModelObject m) {
        if (m.madv == Madv.PURGED) {
            return Errno.ENOMEM;
        }
        if (m.use == 0) {
            if (!allocate(m.pages)) {
                return Errno.ENOMEM;
            }
            m.resident = true;
            Arrays.fill(m.data, (byte) 0);
        } else if (m.evicted) {
            Errno e = swapIn(m);
            if (e != null) {
                return e;
            }
        } else {
            assertThat(m.resident).as("model: a used, unevicted, unpurged object is resident").isTrue();
        }
        m.use++;
        return null;
    }

    /** Swaps an evicted object in; the swap copy is held while the frames are allocated (and reclaim may run). */
    Errno swapIn(ModelObject m) {
        if (!allocate(m.pages)) {
            tag("swap-in-enomem");
            return Errno.ENOMEM;
        }
        tag("swap-in");
        swap -= m.pages;
        m.evicted = false;
        m.resident = true;
        return null;
    }

    private void dropUse(ModelObject m) {
        m.use--;
        if (m.use == 0) {
            releaseBacking(m);
            retireIfUnowned(m);
        } else {
            tag("fast-put");
        }
    }

    private void releaseBacking(ModelObject m) {
        if (m.resident) {
            ram -= m.pages;
            m.resident = false;
        }
        if (m.evicted) {
            swap -= m.pages;
            m.evicted = false;
        }
        Arrays.fill(m.data, (byte) 0);
    }

    private void retireIfUnowned(ModelObject m) {
        if (m.freed && m.use == 0 && m.exports == 0) {
            if (!m.retired) {
                tag("retired-on-last-close");
            }
            m.retired = true;
        }
    }

    private Errno takePin(ModelObject m) {
        if (m.pin == 0) {
            Errno e = takeUse(m);
            if (e != null) {
                return e;
            }
        }
        m.pin++;
        return null;
    }

    private void dropPin(ModelObject m) {
        m.pin--;
        if (m.pin == 0) {
            dropUse(m);
        }
    }

    private Errno takeVmap(ModelObject m) {
        if (m.vmap == 0) {
            Errno e = takePin(m);
            if (e != null) {
                return e;
            }
        }
        m.vmap++;
        return null;
    }

    private void dropVmap(ModelObject m) {
        m.vmap--;
        if (m.vmap == 0) {
            dropPin(m);
        }
    }

    private Outcome acquire(ModelObject m, HandleType type, OwnerKind kind, Owner owner) {
        m.handles.add(new Handle(type, kind, owner));
        return Outcome.ok("acquired " + kind);
    }

    /**
     * Predicts the outcome of an action and applies it to the model.
     *
     * @param a        the action
     * @param acquired the owner the implementation returned, if the action took one
     * @return the outcome the implementation must have had
     */
    Outcome predict(Action a, Owner acquired) {
        ModelObject m = model[a.obj()];
        Handle h = a.handle();
        Errno e;
        switch (a.kind()) {
            case GET_PAGES:
                if (a.pagesKind().internal() || a.pagesKind().ref() != RefKind.PAGES) {
                    return Outcome.err(Errno.EINVAL);
                }
                if (m.freed) {
                    if (m.use > 0) {
                        tag("freed-with-live-counts");
                    }
                    return Outcome.err(Errno.ENOENT);
                }
                if (m.use > 0 && m.resident) {
                    tag("fast-get-pages");
                }
                e = takeUse(m);
                return e != null ? Outcome.err(e) : acquire(m, HandleType.PAGES, a.pagesKind(), acquired);
            case PIN:
                if (m.freed) {
                    if (m.pin > 0) {
                        tag("freed-with-live-counts");
                    }
                    return Outcome.err(Errno.ENOENT);
                }
                if (m.pin > 0) {
                    tag("fast-pin");
                }
                e = takePin(m);
                return e != null ? Outcome.err(e) : acquire(m, HandleType.PIN, OwnerKind.PIN_HANDLE, acquired);
            case VMAP:
                if (m.freed) {
                    if (m.vmap > 0) {
                        tag("freed-with-live-counts");
                    }
                    return Outcome.err(Errno.ENOENT);
                }
                if (m.vmap > 0) {
                    tag("fast-vmap");
                }
                e = takeVmap(m);
                return e != null ? Outcome.err(e)
                        : acquire(m, HandleType.VMAP, OwnerKind.VMAP_HANDLE, acquired);
            case EXPORT:
                if (m.freed) {
                    return Outcome.err(Errno.ENOENT);
                }
                if (m.madv == Madv.PURGED) {
                    return Outcome.err(Errno.ENOMEM);
                }
                m.exports++;
                return acquire(m, HandleType.EXPORT, OwnerKind.EXPORT_HANDLE, acquired);
            case PUT:
            case UNPIN:
            case VUNMAP:
            case CLOSE_EXPORT:
                if (h == null) {
                    return Outcome.SKIP;
                }
                if (!h.live) {
                    return Outcome.err(Errno.EINVAL);
                }
                h.live = false;
                switch (h.type) {
                    case PAGES:
                        dropUse(m);
                        break;
                    case PIN:
                        dropPin(m);
                        break;
                    case VMAP:
                        dropVmap(m);
                        break;
                    default:
                        m.exports--;
                        retireIfUnowned(m);
                }
                return Outcome.ok("closed");
            case VMAP_READ:
            case VMAP_WRITE:
                if (h == null) {
                    return Outcome.SKIP;
                }
                if (!h.live || !inRange(a, m)) {
                    return Outcome.err(Errno.EINVAL);
                }
                return access(a, m);
            case GET_PAGES_SGT:
                if (m.freed) {
                    return Outcome.err(Errno.ENOENT);
                }
                if (!m.sgt) {
                    e = takeUse(m);
                    if (e != null) {
                        return Outcome.err(e);
                    }
                    m.sgt = true;
                } else if (m.evicted) {
                    e = swapIn(m);
                    if (e != null) {
                        return Outcome.err(e);
                    }
                }
                return Outcome.ok("sg pages=" + m.pages);
            case GET_SG_TABLE:
                if (m.freed) {
                    return Outcome.err(Errno.ENOENT);
                }
                return m.resident ? Outcome.ok("sg pages=" + m.pages) : Outcome.err(Errno.EINVAL);
            case MADV_PURGED:
                return Outcome.err(Errno.EINVAL);
            case MADV_WILLNEED:
            case MADV_DONTNEED:
                if (m.freed) {
                    return Outcome.err(Errno.ENOENT);
                }
                if (m.madv != Madv.PURGED) {
                    m.madv = a.kind() == Kind.MADV_WILLNEED ? Madv.WILLNEED : Madv.DONTNEED;
                } else {
                    tag("retained-false");
                }
                return Outcome.ok("retained=" + (m.madv != Madv.PURGED));
            case PURGE: {
                if (m.freed) {
                    return Outcome.err(Errno.ENOENT);
                }
                if (!m.purgeable()) {
                    return Outcome.err(Errno.EBUSY);
                }
                int freedPages = m.resident ? m.pages : 0;
                if (m.evicted) {
                    tag("purge-evicted");
                }
                purgeObject(m);
                return Outcome.ok("freed=" + freedPages);
            }
            case EVICT:
                if (m.freed) {
                    return Outcome.err(Errno.ENOENT);
                }
                if (!m.evictable()) {
                    return Outcome.err(Errno.EBUSY);
                }
                if (swap + m.pages > swapCap) {
                    return Outcome.err(Errno.ENOMEM);
                }
                evictObject(m);
                return Outcome.ok("freed=" + m.pages);
            case FREE: {
                if (m.freed) {
                    return Outcome.err(Errno.ENOENT);
                }
                m.freed = true;
                if (m.sgt) {
                    m.sgt = false;
                    dropUse(m);
                }
                Map<OwnerKind, Integer> leaks = m.liveOwners();
                if (leaks.isEmpty()) {
                    m.retired = true;
                } else {
                    tag("leaky-free");
                }
                return Outcome.ok("leaks=" + leaks);
            }
            case READ:
            case WRITE:
                if (m.freed) {
                    return Outcome.err(Errno.ENOENT);
                }
                if (!inRange(a, m)) {
                    return Outcome.err(Errno.EINVAL); // checked before mapping: nothing swapped in
                }
                if (m.madv == Madv.PURGED) {
                    return Outcome.err(Errno.EFAULT);
                }
                if (m.use == 0) {
                    // A transient mapping of an unused object: zero pages for the call only.
                    if (!allocate(m.pages)) {
                        return Outcome.err(Errno.ENOMEM);
                    }
                    ram -= m.pages;
                    tag("transient-read");
                    return a.kind() == Kind.READ ? Outcome.ok(new byte[a.len()]) : Outcome.ok("written");
                }
                if (m.evicted) {
                    e = swapIn(m);
                    if (e != null) {
                        return Outcome.err(e);
                    }
                    if (a.kind() == Kind.READ && a.len() > 0) {
                        tag("data-after-swap-in");
                    }
                }
                return access(a, m);
            default:
                return predictOther(a, m);
        }
    }

    Outcome access(Action a, ModelObject m) {
        int off = (int) a.off();
        if (a.kind() == Kind.READ || a.kind() == Kind.VMAP_READ) {
            return Outcome.ok(Arrays.copyOfRange(m.data, off, off + a.len()));
        }
        System.arraycopy(a.pattern(), 0, m.data, off, a.len());
        return Outcome.ok("written");
    }
}
