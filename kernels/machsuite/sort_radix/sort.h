/* MachSuite sort/radix: 2-bit-digit radix sort of 2048 integers (SHOC). */
#include "support.h"

#define TYPE int32_t

#define SIZE 2048
#define NUMOFBLOCKS 512
#define ELEMENTSPERBLOCK 4
#define RADIXSIZE 4
#define BUCKETSIZE NUMOFBLOCKS * RADIXSIZE
#define MASK 0x3

#define SCAN_BLOCK 16
#define SCAN_RADIX BUCKETSIZE / SCAN_BLOCK

void ss_sort(int a[SIZE], int b[SIZE], int bucket[BUCKETSIZE], int sum[SCAN_RADIX]);

struct bench_args_t {
  TYPE a[SIZE];
  TYPE b[SIZE];
  TYPE bucket[BUCKETSIZE];
  TYPE sum[SCAN_RADIX];
};
