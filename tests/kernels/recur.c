#define N 256
void recur(double a[N], double b[N], double c[N]) {
  near: for (int i = 1; i < N; i++) {
    a[i] = a[i - 1] * 0.5;
  }
  far: for (int i = 4; i < N; i++) {
    b[i] = b[i - 4] * 0.5;
  }
  same: for (int i = 0; i < N; i++) {
    c[i] = c[i] * 0.5;
  }
}
