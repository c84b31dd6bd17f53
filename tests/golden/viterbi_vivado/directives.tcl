# Directives for viterbi (top function viterbi), written by hls-dse.
# Configuration 0811848761b08efa: {"L_backtrack.pipeline":"off","L_curr_state.pipeline":"off","L_curr_state.unroll":1,"L_end.pipeline":"off","L_end.unroll":1,"L_init.pipeline":"off","L_init.unroll":1,"L_prev_state.ii":1,"L_prev_state.pipeline":"on","L_prev_state.unroll":7,"L_state.pipeline":"off","L_state.unroll":1,"clock.period_ns":10.0,"emission.partition":"none","init.partition":"complete","llike.dim":2,"llike.factor":8,"llike.partition":"cyclic","obs.partition":"none","path.partition":"none","transition.partition":"none"}
# Source these from a Vitis HLS / Vivado HLS project script after set_top.
set_directive_unroll -factor 7 "viterbi/L_prev_state"
set_directive_pipeline -II 1 "viterbi/L_prev_state"
set_directive_array_partition -type complete -dim 1 "viterbi" init
set_directive_array_partition -type cyclic -factor 8 -dim 2 "viterbi" llike
