package dev.gemshrink.core;

import dev.gemshrink.memory.SwapStore;
import java.util.Objects;

/**
 * The settings every device builder shares: the device's name, its RAM budget, its swap store and its leak
 * detection level. {@link GemDevice.Builder} adds what only the core device has (a shared pool, a shared shrinker
 * registry); a driver's builder (such as the Panfrost one) adds its own settings and builds its core device with
 * {@link #buildGemDevice()}.
 *
 * @param <B> the concrete builder, which every setter returns
 */
public abstract class DeviceBuilder<B extends DeviceBuilder<B>> {
    private String name;
    private int ramPages = 64 * 256;
    private SwapStore swap; // null: none
    private LeakDetection leakDetection; // null: from the system property

    /**
     * Creates the settings with their defaults: 64 MiB of RAM, no swap, leak detection from the system property.
     *
     * @param defaultName the device's name unless {@link #name} sets another
     */
    protected DeviceBuilder(String defaultName) {
        this.name = Objects.requireNonNull(defaultName, "defaultName");
    }

    @SuppressWarnings("unchecked") // B is this builder's own class: see the type parameter's bound
    private B self() {
        return (B) this;
    }

    /**
     * Names the device; its shrinker is registered under this name.
     *
     * @param name the name
     * @return this builder
     */
    public B name(String name) {
        this.name = Objects.requireNonNull(name, "name");
        return self();
    }

    /**
     * Sets the RAM budget in pages of 4 KiB.
     *
     * @param pages the budget
     * @return this builder
     */
    public B ramPages(int pages) {
        this.ramPages = pages;
        return self();
    }

    /**
     * Sets the swap store (default: none, so nothing is ever evicted).
     *
     * @param swap the store
     * @return this builder
     */
    public B swap(SwapStore swap) {
        this.swap = swap;
        return self();
    }

    /**
     * Sets the leak detection level (default: from the system property, see {@link LeakDetection}).
     *
     * @param level the level
     * @return this builder
     */
    public B leakDetection(LeakDetection level) {
        this.leakDetection = level;
        return self();
    }

    /**
     * Builds a core device with these settings, a pool of its own and a shrinker registry of its own.
     *
     * @return the core device
     */
    protected final GemDevice buildGemDevice() {
        return new GemDevice(this, null, null);
    }

    /**
     * Returns the device's name.
     *
     * @return the name set, or the default name
     */
    protected final String name() {
        return name;
    }

    /** The RAM budget in pages. */
    final int ramPages() {
        return ramPages;
    }

    /** The swap store, or null for none. */
    final SwapStore swap() {
        return swap;
    }

    /** The leak detection level, or null to read it from the system property. */
    final LeakDetection leakDetection() {
        return leakDetection;
    }
}
