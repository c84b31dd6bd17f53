/* MachSuite kmp: Knuth-Morris-Pratt search for a 4-character pattern. */
#include "support.h"

#define PATTERN_SIZE 4
#define STRING_SIZE (32411)

int kmp(char pattern[PATTERN_SIZE], char input[STRING_SIZE], int32_t kmpNext[PATTERN_SIZE], int32_t n_matches[1]);

struct bench_args_t {
  char pattern[PATTERN_SIZE];
  char input[STRING_SIZE];
  int32_t kmpNext[PATTERN_SIZE];
  int32_t n_matches[1];
};
