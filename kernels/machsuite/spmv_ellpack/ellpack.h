/* MachSuite spmv/ellpack: sparse matrix x vector, ELLPACK format (494 rows, 10 slots). */
#include "support.h"

#define TYPE double

#define NNZ 1666
#define N 494
#define L 10

void ellpack(TYPE nzval[N * L], int32_t cols[N * L], TYPE vec[N], TYPE out[N]);

struct bench_args_t {
  TYPE nzval[N * L];
  int32_t cols[N * L];
  TYPE vec[N];
  TYPE out[N];
};
