/*
 * The campaign's pseudo-random numbers: xoshiro256** seeded through
 * splitmix64, so that a (seed, round) pair gives the same stream on every
 * machine and glib version (a reproduction must not depend on either).
 */
#pragma once

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} FuzzPrng;

/**
 * fuzz_prng_init:
 * @p: (out caller-allocates): the generator
 * @seed: the campaign's seed
 * @stream: which independent stream (the round number, or a round's
 *   sub-stream)
 */
void fuzz_prng_init(FuzzPrng *p, uint64_t seed, uint64_t stream);

/* Returns: the next 64 random bits. */
uint64_t fuzz_prng_next(FuzzPrng *p);

/* Returns: uniform in [0, n) (0 when n is 0). */
uint32_t fuzz_prng_below(FuzzPrng *p, uint32_t n);

/* Returns: uniform in [lo, hi] (lo when hi < lo). */
uint32_t fuzz_prng_range(FuzzPrng *p, uint32_t lo, uint32_t hi);

/* Returns: true with probability percent / 100. */
int fuzz_prng_chance(FuzzPrng *p, uint32_t percent);
