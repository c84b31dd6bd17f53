// Operator cores the generated RTL instantiates (hls-dse, Apache-2.0).
// Floating point: IEEE 754 layout, round to nearest (ties away from zero), subnormals
// flushed to zero, no NaN or infinity handling. A core's result is registered STAGES times.

module hls_delay #(parameter W = 32, STAGES = 1) (input clk, input [W-1:0] d, output [W-1:0] q);
  reg [W-1:0] pipe [0:STAGES-1];
  integer i;
  always @(posedge clk) begin
    pipe[0] <= d;
    for (i = 1; i < STAGES; i = i + 1) pipe[i] <= pipe[i-1];
  end
  assign q = pipe[STAGES-1];
endmodule

module hls_fadd #(parameter E = 11, M = 52, STAGES = 1) (input clk, input [E+M:0] a, b, output [E+M:0] y);
  wire swap = b[E+M-1:0] > a[E+M-1:0];
  wire [E+M:0] big = swap ? b : a, small = swap ? a : b;
  wire [E-1:0] e_big = big[E+M-1:M], e_small = small[E+M-1:M];
  // carry, hidden bit, mantissa, two guard bits
  wire [M+3:0] m_big = {1'b0, |e_big, big[M-1:0], 2'b00};
  wire [M+3:0] m_small = {1'b0, |e_small, small[M-1:0], 2'b00} >> (e_big - e_small);
  wire [M+3:0] sum = big[E+M] ^ small[E+M] ? m_big - m_small : m_big + m_small;
  reg [7:0] lead;
  integer i;
  always @* begin
    lead = 0;
    for (i = 0; i < M + 3; i = i + 1) if (sum[i]) lead = i;
  end
  wire [7:0] left = M + 2 - lead;
  wire [M+3:0] norm = sum[M+3] ? sum >> 1 : sum << left;
  wire [E+1:0] e_norm = sum[M+3] ? {2'b00, e_big} + 1 : {2'b00, e_big} - left;
  wire [M:0] rounded = {1'b0, norm[M+1:2]} + norm[1];
  wire [E+1:0] e_out = e_norm + rounded[M];
  wire zero = sum == 0 || e_out[E+1] || e_out[E:0] == 0;
  wire [E+M:0] result = zero ? 0 : {big[E+M], e_out[E-1:0], rounded[M] ? rounded[M:1] : rounded[M-1:0]};
  hls_delay #(E + M + 1, STAGES) out (clk, result, y);
endmodule

module hls_fmul #(parameter E = 11, M = 52, STAGES = 1) (input clk, input [E+M:0] a, b, output [E+M:0] y);
  wire [M:0] ma = {|a[E+M-1:M], a[M-1:0]}, mb = {|b[E+M-1:M], b[M-1:0]};
  wire [2*M+1:0] product = ma * mb;
  wire top = product[2*M+1];
  wire [M+1:0] rounded = (top ? product[2*M+1:M+1] : product[2*M:M]) + (top ? product[M] : product[M-1]);
  wire [E+1:0] e_out = a[E+M-1:M] + b[E+M-1:M] + top + rounded[M+1] - ((1 << (E - 1)) - 1);
  wire zero = ~|a[E+M-1:M] || ~|b[E+M-1:M] || e_out[E+1] || e_out[E:0] == 0;
  wire [E+M:0] result = zero ? 0 : {a[E+M] ^ b[E+M], e_out[E-1:0], rounded[M+1] ? rounded[M:1] : rounded[M-1:0]};
  hls_delay #(E + M + 1, STAGES) out (clk, result, y);
endmodule

module hls_fcmp #(parameter E = 11, M = 52) (input [E+M:0] a, b, output lt);
  wire a_less = a[E+M-1:0] < b[E+M-1:0];
  wire both_zero = ~|a[E+M-1:0] && ~|b[E+M-1:0];
  assign lt = a[E+M] != b[E+M] ? a[E+M] && !both_zero
            : a[E+M] ? b[E+M-1:0] < a[E+M-1:0] : a_less;
endmodule
