# Directives for gemm_ncubed (top function gemm), written by hls-dse.
# Configuration ef166a09e74a4f9f: {"clock.period_ns":10.0,"inner.ii":2,"inner.pipeline":"on","inner.unroll":4,"m1.factor":4,"m1.partition":"cyclic","m2.factor":4,"m2.partition":"block","middle.pipeline":"off","middle.unroll":1,"prod.partition":"none"}
# Source these from a Vitis HLS / Vivado HLS project script after set_top.
set_directive_unroll -factor 4 "gemm/inner"
set_directive_pipeline -II 2 "gemm/inner"
set_directive_array_partition -type cyclic -factor 4 -dim 1 "gemm" m1
set_directive_array_partition -type block -factor 4 -dim 1 "gemm" m2
