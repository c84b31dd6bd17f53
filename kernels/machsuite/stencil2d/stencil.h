/* MachSuite stencil/stencil2d: 3x3 filter over a 128x64 int32 grid. */
#include "support.h"

#define TYPE int32_t

#define row_size 128
#define col_size 64
#define f_size 9

void stencil(TYPE orig[row_size * col_size], TYPE sol[row_size * col_size], TYPE filter[f_size]);

struct bench_args_t {
  TYPE orig[row_size * col_size];
  TYPE sol[row_size * col_size];
  TYPE filter[f_size];
};
