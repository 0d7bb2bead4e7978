package dev.gemshrink.reclaim;

import java.util.Objects;

/**
 * A {@link Shrinker} that passes every call to another one: the base of a decorator, which overrides only what it
 * changes. Every method of {@link Shrinker} is forwarded here, so a method added to the interface reaches the wrapped
 * shrinker through every decorator at once (a decorator that forgot {@link #applyDeferred()} would leave the wrapped
 * shrinker's deferred work undone).
 */
public abstract class ForwardingShrinker implements Shrinker {
    private final Shrinker inner;

    /**
     * Wraps a shrinker.
     *
     * @param inner the shrinker the calls go to
     */
    protected ForwardingShrinker(Shrinker inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    /**
     * Returns the wrapped shrinker.
     *
     * @return the shrinker the calls go to
     */
    protected final Shrinker inner() {
        return inner;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public long count(ShrinkControl sc) {
        return inner.count(sc);
    }

    @Override
    public long scan(ShrinkControl sc) {
        return inner.scan(sc);
    }

    @Override
    public void applyDeferred() {
        inner.applyDeferred();
    }

    @Override
    public int seeks() {
        return inner.seeks();
    }

    @Override
    public long batch() {
        return inner.batch();
    }
}
