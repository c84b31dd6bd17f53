#include "kmp.h"

/* Failure function of the pattern. Like MachSuite, the fallback reads
 * kmpNext[q] (the textbook form reads kmpNext[k-1]); it is exact for patterns
 * whose first character does not repeat. */
void CPF(char pattern[PATTERN_SIZE], int32_t kmpNext[PATTERN_SIZE]) {
  int32_t k, q;
  k = 0;
  kmpNext[0] = 0;

  c1: for (q = 1; q < PATTERN_SIZE; q++) {
    c2: while (k > 0 && pattern[k] != pattern[q]) {
      k = kmpNext[q];
    }
    if (pattern[k] == pattern[q]) {
      k++;
    }
    kmpNext[q] = k;
  }
}

/* Counts the occurrences of pattern in input into n_matches[0]. Returns 0. */
int kmp(char pattern[PATTERN_SIZE], char input[STRING_SIZE], int32_t kmpNext[PATTERN_SIZE], int32_t n_matches[1]) {
  int32_t i, q;
  n_matches[0] = 0;

  CPF(pattern, kmpNext);

  q = 0;
  k1: for (i = 0; i < STRING_SIZE; i++) {
    k2: while (q > 0 && pattern[q] != input[i]) {
      q = kmpNext[q];
    }
    if (pattern[q] == input[i]) {
      q++;
    }
    if (q >= PATTERN_SIZE) {
      n_matches[0]++;
      q = kmpNext[q - 1];
    }
  }
  return 0;
}
