#include "viterbi.h"

/* Forward pass keeps the best -log likelihood per (step, state); the backward
 * pass follows the argmin through the transition costs. Returns 0. */
int viterbi(tok_t obs[N_OBS], prob_t init[N_STATES], prob_t transition[N_STATES * N_STATES],
            prob_t emission[N_STATES * N_TOKENS], state_t path[N_OBS]) {
  #pragma HLS array_partition variable=init complete dim=1
  prob_t llike[N_OBS][N_STATES];
  #pragma HLS array_partition variable=llike cyclic factor=8 dim=2
  step_t t;
  state_t prev, curr;
  prob_t min_p, p;
  state_t min_s, s;

  L_init: for (s = 0; s < N_STATES; s++) {
    llike[0][s] = init[s] + emission[s * N_TOKENS + obs[0]];
  }

  L_timestep: for (t = 1; t < N_OBS; t++) {
    L_curr_state: for (curr = 0; curr < N_STATES; curr++) {
      prev = 0;
      min_p = llike[t - 1][prev] + transition[prev * N_STATES + curr] +
              emission[curr * N_TOKENS + obs[t]];
      L_prev_state: for (prev = 1; prev < N_STATES; prev++) {
        #pragma HLS unroll factor=7
        #pragma HLS pipeline II=1
        p = llike[t - 1][prev] + transition[prev * N_STATES + curr] +
            emission[curr * N_TOKENS + obs[t]];
        if (p < min_p) {
          min_p = p;
        }
      }
      llike[t][curr] = min_p;
    }
  }

  min_s = 0;
  min_p = llike[N_OBS - 1][min_s];
  L_end: for (s = 1; s < N_STATES; s++) {
    p = llike[N_OBS - 1][s];
    if (p < min_p) {
      min_p = p;
      min_s = s;
    }
  }
  path[N_OBS - 1] = min_s;

  L_backtrack: for (t = N_OBS - 2; t >= 0; t--) {
    min_s = 0;
    min_p = llike[t][min_s] + transition[min_s * N_STATES + path[t + 1]];
    L_state: for (s = 1; s < N_STATES; s++) {
      p = llike[t][s] + transition[s * N_STATES + path[t + 1]];
      if (p < min_p) {
        min_p = p;
        min_s = s;
      }
    }
    path[t] = min_s;
  }
  return 0;
}
