/* MachSuite md/knn: Lennard-Jones forces over a k-nearest-neighbour list. */
#include "support.h"

#define TYPE double

#define nAtoms 256
#define maxNeighbors 16
/* Lennard-Jones coefficients. */
#define lj1 1.5
#define lj2 2.0

void md_kernel(TYPE force_x[nAtoms], TYPE force_y[nAtoms], TYPE force_z[nAtoms],
               TYPE position_x[nAtoms], TYPE position_y[nAtoms], TYPE position_z[nAtoms],
               int32_t NL[nAtoms * maxNeighbors]);

struct bench_args_t {
  TYPE force_x[nAtoms];
  TYPE force_y[nAtoms];
  TYPE force_z[nAtoms];
  TYPE position_x[nAtoms];
  TYPE position_y[nAtoms];
  TYPE position_z[nAtoms];
  int32_t NL[nAtoms * maxNeighbors];
};
