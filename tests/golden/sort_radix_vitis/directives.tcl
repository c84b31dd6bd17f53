# Directives for sort_radix (top function ss_sort), written by hls-dse.
# Configuration 6570ed410eabbb51: {"a.partition":"none","b.partition":"none","bucket.factor":16,"bucket.partition":"cyclic","clock.period_ns":10.0,"hist.inline":"on","hist_1.pipeline":"off","hist_1.unroll":1,"hist_2.pipeline":"off","hist_2.unroll":1,"init.inline":"off","init_1.pipeline":"off","init_1.unroll":1,"last_1.pipeline":"off","last_1.unroll":1,"last_2.pipeline":"off","last_2.unroll":16,"last_step_scan.inline":"off","local_1.pipeline":"off","local_1.unroll":1,"local_2.pipeline":"off","local_2.unroll":1,"local_scan.inline":"off","sort_1.unroll":1,"sum.partition":"none","sum_1.pipeline":"off","sum_scan.inline":"off","update.inline":"off","update_1.pipeline":"off","update_1.unroll":1,"update_2.pipeline":"off","update_2.unroll":1}
# Source these from a Vitis HLS / Vivado HLS project script after set_top.
set_directive_unroll "last_step_scan/last_2"
set_directive_array_partition -type cyclic -factor 16 -dim 1 "ss_sort" bucket
set_directive_inline -off "init"
set_directive_inline "hist"
set_directive_inline -off "local_scan"
set_directive_inline -off "sum_scan"
set_directive_inline -off "last_step_scan"
set_directive_inline -off "update"
