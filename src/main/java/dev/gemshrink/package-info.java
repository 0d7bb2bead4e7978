/**
 * gemshrink: a model of how a GPU driver manages shmem-backed buffer objects and gives memory back under pressure.
 * This package holds what every other package shares: the {@link dev.gemshrink.Errno} codes and the
 * {@link dev.gemshrink.GemException} that carries them.
 */
package dev.gemshrink;
