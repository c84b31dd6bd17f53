/* MachSuite gemm/ncubed: naive 64x64 double-precision matrix multiply. */
#include "support.h"

#define TYPE double

#define row_size 64
#define col_size 64
#define N row_size*col_size

void gemm(TYPE m1[N], TYPE m2[N], TYPE prod[N]);

struct bench_args_t {
  TYPE m1[N];
  TYPE m2[N];
  TYPE prod[N];
};
