/* MachSuite stencil/stencil3d: 7-point stencil on a 32x32x16 int32 volume. */
#include "support.h"

#define TYPE int32_t

#define height_size 32
#define col_size 32
#define row_size 16
#define SIZE (row_size * col_size * height_size)

/* Flat index of (row k, column j, height i); k is the fastest dimension. */
#define INDX(_row_size, _col_size, _i, _j, _k) ((_i) + _row_size * ((_j) + _col_size * (_k)))

void stencil3d(TYPE C[2], TYPE orig[SIZE], TYPE sol[SIZE]);

struct bench_args_t {
  TYPE C[2];
  TYPE orig[SIZE];
  TYPE sol[SIZE];
};
