#define N 64
void imul(int a[N], int b[N], int y[N]) {
  scale: for (int i = 0; i < N; i++) {
    y[i] = a[i] * b[i];
  }
}
