#include "sort.h"

/* Inclusive prefix sum inside each block of SCAN_BLOCK buckets. */
void local_scan(int bucket[BUCKETSIZE]) {
  #pragma HLS inline off
  int radixID, i, bucket_indx;
  local_1: for (radixID = 0; radixID < SCAN_RADIX; radixID++) {
    local_2: for (i = 1; i < SCAN_BLOCK; i++) {
      bucket_indx = radixID * SCAN_BLOCK + i;
      bucket[bucket_indx] += bucket[bucket_indx - 1];
    }
  }
}

/* Exclusive prefix sum of the block totals. */
void sum_scan(int sum[SCAN_RADIX], int bucket[BUCKETSIZE]) {
  #pragma HLS inline off
  int radixID, bucket_indx;
  sum[0] = 0;
  sum_1: for (radixID = 1; radixID < SCAN_RADIX; radixID++) {
    bucket_indx = radixID * SCAN_BLOCK - 1;
    sum[radixID] = sum[radixID - 1] + bucket[bucket_indx];
  }
}

/* Adds each block's offset to its buckets. */
void last_step_scan(int bucket[BUCKETSIZE], int sum[SCAN_RADIX]) {
  #pragma HLS inline off
  int radixID, i, bucket_indx;
  last_1: for (radixID = 0; radixID < SCAN_RADIX; radixID++) {
    last_2: for (i = 0; i < SCAN_BLOCK; i++) {
      #pragma HLS unroll
      bucket_indx = radixID * SCAN_BLOCK + i;
      bucket[bucket_indx] = bucket[bucket_indx] + sum[radixID];
    }
  }
}

void init(int bucket[BUCKETSIZE]) {
  #pragma HLS inline off
  int i;
  init_1: for (i = 0; i < BUCKETSIZE; i++) {
    bucket[i] = 0;
  }
}

/* Counts digits per (digit, block), shifted up by one bucket so that the scan
 * yields start offsets. Digit 3 of the last block touches bucket[BUCKETSIZE],
 * one past the end, as in MachSuite. */
void hist(int bucket[BUCKETSIZE], int a[SIZE], int exp) {
  #pragma HLS inline
  int blockID, i, bucket_indx, a_indx;
  hist_1: for (blockID = 0; blockID < NUMOFBLOCKS; blockID++) {
    hist_2: for (i = 0; i < ELEMENTSPERBLOCK; i++) {
      a_indx = blockID * ELEMENTSPERBLOCK + i;
      bucket_indx = ((a[a_indx] >> exp) & MASK) * NUMOFBLOCKS + blockID + 1;
      bucket[bucket_indx]++;
    }
  }
}

/* Scatters a into b at the scanned offsets. */
void update(int b[SIZE], int bucket[BUCKETSIZE], int a[SIZE], int exp) {
  #pragma HLS inline off
  int i, blockID, bucket_indx, a_indx;
  update_1: for (blockID = 0; blockID < NUMOFBLOCKS; blockID++) {
    update_2: for (i = 0; i < ELEMENTSPERBLOCK; i++) {
      a_indx = blockID * ELEMENTSPERBLOCK + i;
      bucket_indx = ((a[a_indx] >> exp) & MASK) * NUMOFBLOCKS + blockID;
      b[bucket[bucket_indx]] = a[a_indx];
      bucket[bucket_indx]++;
    }
  }
}

/* 16 passes of 2 bits; the passes ping-pong between a and b and end in a. */
void ss_sort(int a[SIZE], int b[SIZE], int bucket[BUCKETSIZE], int sum[SCAN_RADIX]) {
  #pragma HLS array_partition variable=bucket type=cyclic factor=16 dim=1
  int exp = 0;
  int valid_buffer = 0;
#define BUFFER_A 0
#define BUFFER_B 1

  sort_1: for (exp = 0; exp < 32; exp += 2) {
    init(bucket);
    if (valid_buffer == BUFFER_A) {
      hist(bucket, a, exp);
    } else {
      hist(bucket, b, exp);
    }

    local_scan(bucket);
    sum_scan(sum, bucket);
    last_step_scan(bucket, sum);

    if (valid_buffer == BUFFER_A) {
      update(b, bucket, a, exp);
      valid_buffer = BUFFER_B;
    } else {
      update(a, bucket, b, exp);
      valid_buffer = BUFFER_A;
    }
  }
}
