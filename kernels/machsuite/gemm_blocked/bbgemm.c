#include "bbgemm.h"

/* prod += m1 x m2, blocked over j and k (prod must start at zero). */
void bbgemm(TYPE m1[N], TYPE m2[N], TYPE prod[N]) {
  int i, k, j, jj, kk;
  int i_row, k_row;
  TYPE temp_x, mul;

  loopjj: for (jj = 0; jj < row_size; jj += block_size) {
    loopkk: for (kk = 0; kk < row_size; kk += block_size) {
      loopi: for (i = 0; i < row_size; ++i) {
        loopk: for (k = 0; k < block_size; ++k) {
          i_row = i * row_size;
          k_row = (k + kk) * row_size;
          temp_x = m1[i_row + k + kk];
          loopj: for (j = 0; j < block_size; ++j) {
            mul = temp_x * m2[k_row + j + jj];
            prod[i_row + j + jj] += mul;
          }
        }
      }
    }
  }
}
