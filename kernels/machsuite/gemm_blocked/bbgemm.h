/* MachSuite gemm/blocked: 64x64 double GEMM in 8x8 blocks. prod is accumulated. */
#include "support.h"

#define TYPE double

#define row_size 64
#define col_size 64
#define N (row_size*col_size)
#define block_size 8
#define NUMOFBLOCKS (N/block_size/block_size)

void bbgemm(TYPE m1[N], TYPE m2[N], TYPE prod[N]);

struct bench_args_t {
  TYPE m1[N];
  TYPE m2[N];
  TYPE prod[N];
};
