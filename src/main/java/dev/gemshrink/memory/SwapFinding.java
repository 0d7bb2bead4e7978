package dev.gemshrink.memory;

/**
 * One thing that does not add up in a swap store's audit ({@link SwapStore#audit}).
 *
 * @param holder the name of the object whose receipt is concerned, or {@code "swap"} for the store as a whole
 * @param rule   a short stable name of the rule broken, such as {@code swap-slot-owned-once}
 * @param detail what was found, with the numbers and slots involved
 */
public record SwapFinding(String holder, String rule, String detail) {
}
