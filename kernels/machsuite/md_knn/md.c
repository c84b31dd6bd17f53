#include "md.h"

/* force[i] = sum over neighbours j of d * r2inv * r6inv * (lj1 * r6inv - lj2). */
void md_kernel(TYPE force_x[nAtoms], TYPE force_y[nAtoms], TYPE force_z[nAtoms],
               TYPE position_x[nAtoms], TYPE position_y[nAtoms], TYPE position_z[nAtoms],
               int32_t NL[nAtoms * maxNeighbors]) {
  TYPE delx, dely, delz, r2inv;
  TYPE r6inv, potential, force, j_x, j_y, j_z;
  TYPE i_x, i_y, i_z, fx, fy, fz;
  int32_t i, j, jidx;

  loop_i: for (i = 0; i < nAtoms; i++) {
    i_x = position_x[i];
    i_y = position_y[i];
    i_z = position_z[i];
    fx = 0;
    fy = 0;
    fz = 0;
    loop_j: for (j = 0; j < maxNeighbors; j++) {
      jidx = NL[i * maxNeighbors + j];
      j_x = position_x[jidx];
      j_y = position_y[jidx];
      j_z = position_z[jidx];
      delx = i_x - j_x;
      dely = i_y - j_y;
      delz = i_z - j_z;
      r2inv = 1.0 / (delx * delx + dely * dely + delz * delz);
      r6inv = r2inv * r2inv * r2inv;
      potential = r6inv * (lj1 * r6inv - lj2);
      force = r2inv * potential;
      fx += delx * force;
      fy += dely * force;
      fz += delz * force;
    }
    force_x[i] = fx;
    force_y[i] = fy;
    force_z[i] = fz;
  }
}
