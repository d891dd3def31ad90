#include "campaign/prng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void fuzz_prng_init(FuzzPrng *p, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * UINT64_C(0xd1342543de82ef95));

    for (int i = 0; i < 4; i++) {
        p->s[i] = splitmix64(&x);
    }
}

uint64_t fuzz_prng_next(FuzzPrng *p)
{
    uint64_t *s = p->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t fuzz_prng_below(FuzzPrng *p, uint32_t n)
{
    /* Lemire's multiply-shift; the bias (< 2^-32) does not matter here. */
    return n ? (uint32_t)(((fuzz_prng_next(p) >> 32) * (uint64_t)n) >> 32) : 0;
}

uint32_t fuzz_prng_range(FuzzPrng *p, uint32_t lo, uint32_t hi)
{
    if (hi <= lo) {
        return lo;
    }
    return lo + (uint32_t)(fuzz_prng_next(p) % ((uint64_t)hi - lo + 1));
}

int fuzz_prng_chance(FuzzPrng *p, uint32_t percent)
{
    return fuzz_prng_below(p, 100) < percent;
}
