#include "ellpack.h"

/* out[i] += sum over the row's slots of nzval * vec[cols]; padding slots hold 0.0. */
void ellpack(TYPE nzval[N * L], int32_t cols[N * L], TYPE vec[N], TYPE out[N]) {
  int i, j;
  TYPE Si, sum;

  ellpack_1: for (i = 0; i < N; i++) {
    sum = out[i];
    ellpack_2: for (j = 0; j < L; j++) {
      Si = nzval[j + i * L] * vec[cols[j + i * L]];
      sum += Si;
    }
    out[i] = sum;
  }
}
