# vitis_hls project for gemm_ncubed, configuration 04142a4da4699393, written by hls-dse.
# Run with: vitis_hls -f run_hls.tcl
open_project -reset proj
set_top gemm
add_files {<repo>/kernels/machsuite/gemm_ncubed/gemm.c}
open_solution -reset solution1 -flow_target vivado
set_part {xc7z020clg484-1}
create_clock -period 10 -name default
# Only the explored directives shape the design: no automatic loop pipelining or array partitioning.
config_compile -pipeline_loops 0
config_array_partition -complete_threshold 0 -throughput_driven off
source directives.tcl
csynth_design
export_design -flow syn -rtl verilog -format ip_catalog
exit
