#define N 1024
void vmul(double a[N], double b[N], double y[N]) {
  scale: for (int i = 0; i < N; i++) {
    y[i] = a[i] * b[i];
  }
}
