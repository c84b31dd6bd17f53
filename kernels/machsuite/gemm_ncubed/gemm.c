#include "gemm.h"

/* prod = m1 x m2, all 64x64 row-major. */
void gemm(TYPE m1[N], TYPE m2[N], TYPE prod[N]) {
  int i, j, k;
  int i_row, k_row;
  TYPE mult, sum;

  outer: for (i = 0; i < row_size; i++) {
    middle: for (j = 0; j < col_size; j++) {
      i_row = i * col_size;
      sum = 0;
      inner: for (k = 0; k < row_size; k++) {
        k_row = k * col_size;
        mult = m1[i_row + k] * m2[k_row + j];
        sum += mult;
      }
      prod[i_row + j] = sum;
    }
  }
}
