/* MachSuite spmv/crs: sparse matrix x vector, compressed rows (494_bus). */
#include "support.h"

#define TYPE double

#define NNZ 1666
#define N 494

void spmv(TYPE val[NNZ], int32_t cols[NNZ], int32_t rowDelimiters[N + 1], TYPE vec[N], TYPE out[N]);

struct bench_args_t {
  TYPE val[NNZ];
  int32_t cols[NNZ];
  int32_t rowDelimiters[N + 1];
  TYPE vec[N];
  TYPE out[N];
};
