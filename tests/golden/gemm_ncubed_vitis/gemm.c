#include "gemm.h"

/* prod = m1 x m2, all 64x64 row-major. */
void gemm(TYPE m1[N], TYPE m2[N], TYPE prod[N]) {
  #pragma HLS array_partition variable=m1 type=cyclic factor=4 dim=1
  #pragma HLS array_partition variable=m2 type=block factor=4 dim=1
  int i, j, k;
  int i_row, k_row;
  TYPE mult, sum;

  outer: for (i = 0; i < row_size; i++) {
    middle: for (j = 0; j < col_size; j++) {
      i_row = i * col_size;
      sum = 0;
      inner: for (k = 0; k < row_size; k++) {
        #pragma HLS unroll factor=4
        #pragma HLS pipeline II=2
        k_row = k * col_size;
        mult = m1[i_row + k] * m2[k_row + j];
        sum += mult;
      }
      prod[i_row + j] = sum;
    }
  }
}
