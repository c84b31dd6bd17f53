#define N 4096
#define BINS 256
void hist(unsigned char x[N], int bins[BINS], double out[1024]) {
  double buf[1024];
  count: for (int i = 0; i < N; i++) {
    bins[x[i]] = bins[x[i]] + 1;
  }
  fill: for (int i = 0; i < 1024; i++) {
    buf[i] = out[i] * 2.0;
  }
  copy: for (int i = 0; i < 1024; i++) {
    out[i] = buf[1023 - i];
  }
}
