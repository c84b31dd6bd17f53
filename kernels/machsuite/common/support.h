/* Harness support for the bundled MachSuite kernels (hls-dse's own code).
 *
 * Mirrors the role of MachSuite's common/support.h: every kernel header includes
 * it, and it carries harness declarations and static-inline helper code that is
 * not part of the kernel itself. The hls-dse front-end must read past it. */
#ifndef HLS_DSE_SUPPORT_H
#define HLS_DSE_SUPPORT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>

/* Benchmark glue, implemented per kernel by a harness (not bundled). */
void run_benchmark(void *vargs);
void input_to_data(int fd, void *vdata);
void data_to_input(int fd, void *vdata);
void output_to_data(int fd, void *vdata);
void data_to_output(int fd, void *vdata);
int check_data(void *vdata, void *vref);

/* Data files are split into sections that start with this marker. */
#define SECTION_MARKER "%%\n"

/* Deterministic input generation: a xorshift128+ generator. */
struct prng_rand_t {
  uint_fast16_t initialised;
  uint64_t state[2];
};

static inline void prng_srand(uint64_t seed, struct prng_rand_t *prng) {
  prng->state[0] = seed ^ 0x9E3779B97F4A7C15ULL;
  prng->state[1] = (seed << 1) | 1u;
  prng->initialised = 1;
}

static inline uint64_t prng_rand(struct prng_rand_t *prng) {
  uint64_t s1 = prng->state[0];
  const uint64_t s0 = prng->state[1];
  assert(prng->initialised);
  prng->state[0] = s0;
  s1 ^= s1 << 23;
  prng->state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
  return prng->state[1] + s0;
}

#endif
