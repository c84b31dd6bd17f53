"""Verilog of the builtin flow's schedule: the design the ``synth`` fidelity gives Yosys.

The design is the estimate's microarchitecture, cycle for cycle: a controller for every
scheduled region (a step counter and an iteration counter, or a valid shift register when
pipelined), the operators each region binds (shared cores behind operand multiplexers,
bound in the order they start), a register for every value used in a later cycle than it
is made (a chain of them when pipelined), every bank of every local array with its ports
and their address and data multiplexers, and the top's array arguments as memory ports (the
``ap_memory`` interface). Sub-loops and calls start at their scheduled cycle.

It is structural, not yet the kernel's function: the IR keeps neither constants nor which of
+ and -, < and ==, & | and ^ an operation is, so a constant operand is a module input, one
adder stands for either, and so on. Widths, operators, sharing, registers, multiplexers,
memories and control are the estimate's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from importlib import resources

from .estimate import Estimator, Schedule
from .ir import Array

TOP = "kernel"
REVISION = 2
"""Raised whenever the Verilog of some schedule changes: part of the builtin backend's version,
so that synthesis results of an older generator are not reused."""


class Unsupported(Exception):
    """An operation the RTL generator does not implement yet."""


def cores_verilog() -> str:
    """The operator cores the generated modules instantiate."""
    return resources.files("dse").joinpath("rtl_cores.v").read_text()


def _bits(width: int) -> int:
    """Bits of a counter or an index up to ``width`` - 1."""
    return max(1, (max(width, 2) - 1).bit_length())


def _resize(expr: str, have: int, want: int) -> str:
    if have == want:
        return expr
    if have > want:
        return f"{expr}[{want - 1}:0]"
    return f"{{{want - have}'d0, {expr}}}"


def _float_shape(type_: str) -> tuple[int, int]:
    return (8, 23) if type_ == "f32" else (11, 52)


class _Region:
    """A scheduled region's controller signals."""

    def __init__(self, schedule: Schedule, prefix: str):
        self.schedule, self.prefix = schedule, prefix
        self.pipelined = schedule.ii is not None

    def active(self, cycle: int) -> str:
        if self.pipelined:
            return f"{self.prefix}fire" if cycle == 0 else f"{self.prefix}valid[{cycle - 1}]"
        return f"({self.prefix}run && {self.prefix}step == {cycle})"

    def iteration(self, cycle: int) -> str:
        if not self.pipelined or cycle == 0:
            return f"{self.prefix}k"
        return f"{self.prefix}k_at{cycle}"


class RtlGenerator:
    """Writes one Verilog module, ``kernel``, for an estimate whose schedules were kept."""

    def __init__(self, estimator: Estimator):
        if estimator.schedules is None:
            raise ValueError("the estimator must keep its schedules (keep_schedules=True)")
        self.estimator = estimator
        self.kernel = estimator.kernel
        self.schedules = estimator.schedules
        self.ports: list[str] = ["input clk", "input rst", "input start", "output done"]
        self.decls: list[str] = []
        self.logic: list[str] = []
        self.ids: dict[int, int] = {}
        self.home: dict[int, _Region] = {}
        self.regions: dict[str, _Region] = {}
        self.nodes: dict[int, object] = {}
        self.held: set[int] = set()  # values held in one register
        self.chains: dict[int, int] = {}  # values a pipeline carries: registers in the chain
        self.loads: dict[int, tuple[str | None, list]] = {}  # load -> (bank select, its banks' read data)
        self.inputs = 0
        self.accesses: dict[tuple, list] = defaultdict(list)  # (array, bank) -> [(node, region, port)]
        self.loop_of = {op.id: loop for loop in self.kernel.loops.values() for op in loop.ops}

    # ----- names ----------------------------------------------------------------------------
    def uid(self, node) -> int:
        return self.ids.setdefault(id(node), len(self.ids))

    def new_input(self, width: int) -> str:
        """A module input for an operand the IR does not carry (a constant or a scalar argument)."""
        self.inputs += 1
        self.ports.append(f"input [{width - 1}:0] in{self.inputs}")
        return f"in{self.inputs}"

    @staticmethod
    def width(node) -> int:
        return max(1, node.facts.bits or 32)

    # ----- values ---------------------------------------------------------------------------
    def resolve(self, source, wanted: int | None):
        """The node that makes op ``wanted`` when ``source`` is a sub-loop or call: its last copy
        inside, however deep (the last sub-loop inside that makes it)."""
        if source is None or source.kind != "timed":
            return source
        inner = self.schedules.get(source.timed.region)
        if inner is None or wanted is None:
            return None
        for node in reversed(inner.nodes):
            if node.op is not None and node.op.id == wanted:
                return node
            if node.kind == "timed" and (found := self.resolve(node, wanted)) is not None:
                return found
        return None

    def producer(self, node, position: int):
        """The node that makes operand ``position`` of ``node`` (operands, then index operands)."""
        operand_ids = (*node.op.operands, *node.op.index_operands)
        if position >= len(node.inputs) or position >= len(operand_ids):
            return None
        return self.resolve(node.inputs[position], operand_ids[position])

    def value(self, source, region: _Region, cycle: int, width: int) -> str:
        """``source``'s value as read in ``region`` at ``cycle``, ``width`` bits wide."""
        if source is None or source.kind == "store" or id(source) not in self.home:
            return self.new_input(width)
        home, ready, uid = self.home[id(source)], source.finish[0], self.uid(source)
        if home is region and cycle <= ready:
            expr = f"w{uid}"
        elif home is region and region.pipelined:
            self.chains[uid] = max(self.chains.get(uid, 0), cycle - ready)
            expr = f"h{uid}_{cycle - ready}"
        else:
            self.held.add(uid)
            expr = f"h{uid}"
        return _resize(expr, self.width(source), width)

    # ----- generation -----------------------------------------------------------------------
    def generate(self) -> str:
        top_key = f"{self.kernel.top}()"
        for number, key in enumerate([top_key, *(k for k in self.schedules if k != top_key)]):
            region = _Region(self.schedules[key], f"r{number}_")
            self.regions[key] = region
            for node in region.schedule.nodes:
                self.home[id(node)] = region
                self.nodes[self.uid(node)] = node
        for region in self.regions.values():
            self.controller(region)
        self.logic += ["assign r0_go = start;", f"assign done = r0_run && r0_step == {self.schedules[top_key].length - 1};"]
        for region in self.regions.values():
            self.datapath(region)
        for (_, bank), accesses in self.accesses.items():
            self.bank(accesses[0][0].facts.array, bank, accesses)
        for uid, (select, ports) in self.loads.items():
            if select is None:
                self.logic.append(f"assign w{uid} = {ports[0]};")
                continue
            width = self.width(self.nodes[uid])
            self.decls.append(f"wire [{width - 1}:0] w{uid}_bank [0:{len(ports) - 1}];")
            self.logic += [f"assign w{uid}_bank[{bank}] = {port};" for bank, port in enumerate(ports)]
            self.logic.append(f"assign w{uid} = w{uid}_bank[{select}];")
        self.registers()
        lines = [f"module {TOP} (", ",\n".join(f"  {p}" for p in self.ports), ");"]
        return "\n".join([*lines, *self.decls, *self.logic, "endmodule", ""])

    def controller(self, region: _Region) -> None:
        s, p = region.schedule, region.prefix
        step, count = _bits(s.length), _bits(s.iterations + 1)
        self.decls += [f"wire {p}go;", f"reg [{count - 1}:0] {p}k;"]
        if not region.pipelined:
            self.decls += [f"reg {p}run;", f"reg [{step - 1}:0] {p}step;"]
            self.logic.append(
                f"always @(posedge clk) if (rst) {p}run <= 0; else if ({p}go) begin {p}run <= 1; {p}step <= 0; "
                f"{p}k <= 0; end else if ({p}run) begin if ({p}step == {s.length - 1}) begin {p}step <= 0; "
                f"{p}k <= {p}k + 1; if ({p}k == {s.iterations - 1}) {p}run <= 0; end "
                f"else {p}step <= {p}step + 1; end")
            return
        stages = s.length  # a result may finish as the last cycle ends
        self.decls += [f"reg {p}issue;", f"reg [{_bits(s.ii) - 1}:0] {p}slot;", f"wire {p}fire;",
                       f"reg [{stages - 1}:0] {p}valid;"]
        self.logic += [
            f"assign {p}fire = {p}issue && {p}slot == 0;",
            f"always @(posedge clk) if (rst) begin {p}issue <= 0; {p}valid <= 0; end else begin "
            f"{p}valid <= {{{p}valid, {p}fire}}; "
            f"if ({p}go) begin {p}issue <= 1; {p}slot <= 0; {p}k <= 0; end else if ({p}issue) begin "
            f"{p}slot <= {p}slot == {s.ii - 1} ? 0 : {p}slot + 1; "
            f"if ({p}fire) begin {p}k <= {p}k + 1; if ({p}k == {s.iterations - 1}) {p}issue <= 0; end end end"]
        for stage in range(1, s.length + 1):
            self.decls.append(f"reg [{count - 1}:0] {p}k_at{stage};")
            self.logic.append(f"always @(posedge clk) {p}k_at{stage} <= {p}k{'' if stage == 1 else f'_at{stage - 1}'};")

    def datapath(self, region: _Region) -> None:
        units = self.bind(region)
        bound_to = {id(node): f"{name}_y" for name, nodes in units for node in nodes}
        seen: set[int] = set()
        ports: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
        for node in region.schedule.nodes:
            uid, cycle = self.uid(node), node.start[0]
            if node.kind == "timed":
                self.logic.append(f"assign {self.regions[node.timed.region].prefix}go = {region.active(cycle)};")
                continue
            first_copy = node.op.id not in seen
            seen.add(node.op.id)
            width = self.width(node)
            self.decls.append(f"wire [{width - 1}:0] w{uid};")

            def operand(position: int, bits: int = width) -> str:
                return self.value(self.producer(node, position), region, cycle, bits)

            kind, type_ = node.kind, node.op.type
            if kind in ("load", "store"):
                self.access(node, region, ports)
            elif kind == "phi":
                self.phi(node, region, first_copy, operand)
            elif kind in ("join", "cast") and not type_.startswith("f"):
                self.logic.append(f"assign w{uid} = {operand(0)};")
            elif id(node) in bound_to:
                self.logic.append(f"assign w{uid} = {bound_to[id(node)]};")
            elif kind in _CHAINED and not type_.startswith("f"):
                self.logic.append(f"assign w{uid} = {_CHAINED[kind](operand, width)};")
            else:
                raise Unsupported(f"{kind} on {type_} (line {node.op.line})")
        self.unit_logic(region, units)

    def phi(self, node, region: _Region, first_copy: bool, operand) -> None:
        """A carried scalar: a register in its own loop's first copy, updated from the last copy
        when the iteration makes it; in other copies, the previous copy's value."""
        uid, width = self.uid(node), self.width(node)
        own = self.loop_of.get(node.op.id) is region.schedule.region
        if not first_copy:
            carried = self.resolve(node.inputs[0] if node.inputs else None, node.op.carried_from)
            self.logic.append(f"assign w{uid} = {self.value(carried, region, node.start[0], width)};")
            return
        if not own:
            self.logic.append(f"assign w{uid} = {operand(0)};")
            return
        back = next((n for n in reversed(region.schedule.nodes) if n.op is not None
                     and n.op.id == node.op.carried_from), None)
        back = self.resolve(back, node.op.carried_from)
        update = ""
        if back is not None and back is not node and back.kind != "store":
            ready = back.finish[0]
            update = f" else if ({region.active(ready)}) p{uid} <= {self.value(back, region, ready, width)};"
        self.decls.append(f"reg [{width - 1}:0] p{uid};")
        self.logic += [f"always @(posedge clk) if ({region.prefix}go) p{uid} <= {operand(0)};{update}",
                       f"assign w{uid} = p{uid};"]

    # ----- operators ------------------------------------------------------------------------
    def bind(self, region: _Region) -> list[tuple[str, list]]:
        """Shared cores, named, with their nodes: the j-th node to start in a cycle (modulo II)
        runs on unit j of its kind."""
        ii = region.schedule.ii
        by_core: dict[str, list] = defaultdict(list)
        for node in region.schedule.nodes:
            operator = node.facts.operator
            if operator is not None and operator.shareable and node.kind not in ("load", "store", "timed"):
                if node.kind not in ("add", "mul", "cmp"):
                    raise Unsupported(f"{node.kind} on {node.op.type} (line {node.op.line})")
                by_core[node.facts.core].append(node)
        units = []
        for nodes in by_core.values():
            taken: dict[int, int] = defaultdict(int)
            members: dict[int, list] = defaultdict(list)
            for node in nodes:
                slot = node.start[0] % ii if ii else node.start[0]
                members[taken[slot]].append(node)
                taken[slot] += 1
            for bound in members.values():
                units.append((f"{region.prefix}u{len(units)}", bound))
        return units

    def unit_logic(self, region: _Region, units: list[tuple[str, list]]) -> None:
        for name, bound in units:
            first = bound[0]
            kind, type_, width = first.kind, first.op.type, self.width(first)
            for position in (0, 1):
                choices = [(region.active(n.start[0]), self.value(self.producer(n, position), region, n.start[0],
                                                                   width)) for n in bound]
                self.decls.append(f"wire [{width - 1}:0] {name}_{'ab'[position]};")
                self.logic.append(f"assign {name}_{'ab'[position]} = {_priority(choices)};")
            self.decls.append(f"wire [{width - 1}:0] {name}_y;")
            a, b, stages = f"{name}_a", f"{name}_b", first.facts.stages
            if type_.startswith("f"):
                e, m = _float_shape(type_)
                if kind == "cmp":
                    self.logic.append(f"hls_fcmp #({e}, {m}) {name} ({a}, {b}, {name}_lt);")
                    self.decls.append(f"wire {name}_lt;")
                    self.logic.append(f"assign {name}_y = {{{width - 1}'d0, {name}_lt}};")
                else:
                    core = "hls_fadd" if kind == "add" else "hls_fmul"
                    self.logic.append(f"{core} #({e}, {m}, {max(1, stages)}) {name} (clk, {a}, {b}, {name}_y);")
            else:
                expr = _CHAINED[kind](lambda position, bits=width: (a, b)[position], width)
                if stages:
                    self.logic.append(f"hls_delay #({width}, {stages}) {name} (clk, {expr}, {name}_y);")
                else:
                    self.logic.append(f"assign {name}_y = {expr};")

    # ----- memories -------------------------------------------------------------------------
    def access(self, node, region: _Region, ports: dict) -> None:
        """Book a load or store on a port of its bank: the j-th access in a cycle (modulo II) on
        port j; on every bank when only the run time knows which."""
        banks = node.facts.banks
        slot = node.start[0] % region.schedule.ii if region.pipelined else node.start[0]
        targets = range(banks) if not node.exact else [self.bank_number(node, node.port[1], banks)]
        for target in targets:
            taken = ports[(node.array, target)]
            self.accesses[(node.array, target)].append((node, region, min(taken[slot], 1)))
            taken[slot] += 1

    @staticmethod
    def bank_number(node, bank, banks: int) -> int:
        if isinstance(bank, tuple):  # complete partition: the element's flat index
            number = 0
            for size, position in zip(node.facts.array.dims, bank):
                number = number * (size or 1) + position
            return number % banks
        return int(bank) % banks

    def address(self, node, region: _Region, bits: int) -> str:
        """The element's offset in its bank, from its index and the loop counters."""
        facts = node.facts
        if node.index is None:
            source = self.producer(node, len(node.op.operands)) if node.op.index_operands else None
            return self.value(source, region, node.start[0], bits)
        dims = facts.array.dims if facts.array.size is not None else [None]
        terms, stride = [], 1
        for position in reversed(range(len(dims))):
            unknown, const = node.index[position] if position < len(node.index) and node.index[position] else ((), 0)
            size = dims[position] or 1 << 16
            if facts.banks > 1 and facts.scheme == "element":
                size = 1
            elif facts.banks > 1 and position == facts.dim:
                if facts.scheme == "block":
                    const %= facts.block
                else:
                    const, unknown = const // facts.banks, tuple((v, c // facts.banks) for v, c in unknown)
                size = math.ceil(size / facts.banks)
            if size > 1:
                terms += [str(const * stride)] if const else []
                terms += [f"{self.counter(var, node, region)} * {c * stride}" for var, c in unknown]
            stride *= size
        return f"({' + '.join(terms) or '0'})"  # the assignment to the port keeps its low bits

    def counter(self, var: str, node, region: _Region) -> str:
        """The iteration counter that stands for induction variable ``var`` at ``node``."""
        for candidate in self.regions.values():
            if getattr(candidate.schedule.region, "induction", None) == var:
                return candidate.iteration(node.start[0]) if candidate is region else f"{candidate.prefix}k"
        return self.new_input(32)

    def bank_select(self, node, region: _Region) -> str:
        """The bank of an access that only the run time knows."""
        facts = node.facts
        index = node.index[facts.dim] if node.index is not None and facts.dim < len(node.index) else None
        if index is None:
            return self.new_input(_bits(facts.banks))
        unknown, const = index
        terms = [str(const)] + [f"{self.counter(v, node, region)} * {c}" for v, c in unknown]
        divide = f"/ {facts.block}" if facts.scheme == "block" else f"% {facts.banks}"
        return f"(({' + '.join(terms)}) {divide})"

    def bank(self, array: Array, bank: int, accesses: list) -> None:
        """One bank's storage and ports (a top argument's bank is outside: its ports are the module's)."""
        _, banks, words = self.estimator.banking(array)
        width, abits = max(1, array.element.bits or 32), _bits(min(words, 1 << 16))
        name = f"m_{array.function}_{array.name}_{bank}"
        external = array.kind == "argument" and array.function == self.kernel.top
        if not external:
            self.decls.append(f"reg [{width - 1}:0] {name} [0:{min(words, 1 << 16) - 1}];")
            if array.const:  # a constant table: the IR has not its contents, a fixed pattern stands in
                self.decls.append(f"integer {name}_i; initial for ({name}_i = 0; {name}_i < {words}; "
                                  f"{name}_i = {name}_i + 1) {name}[{name}_i] = {name}_i * 32'h9E3779B1;")
        for port in (0, 1):
            users = [(n, r) for n, r, p in accesses if p == port]
            if not users:
                continue
            wire = f"{name}_p{port}"
            addresses, data, writes = [], [], []
            for node, region in users:
                active = region.active(node.start[0])
                addresses.append((active, self.address(node, region, abits)))
                if node.kind == "store":
                    data.append((active, self.value(self.producer(node, 0), region, node.start[0], width)))
                    writes.append(active)
                else:  # a bank known only at run time: a read multiplexer over the banks
                    select = None if node.exact else self.bank_select(node, region)
                    self.loads.setdefault(self.uid(node), (select, []))[1].append(f"{wire}_q")
            self.decls += [f"wire [{abits - 1}:0] {wire}_a;", f"wire [{width - 1}:0] {wire}_q;"]
            self.logic.append(f"assign {wire}_a = {_priority(addresses)};")
            if data:
                self.decls += [f"wire [{width - 1}:0] {wire}_d;", f"wire {wire}_we;"]
                self.logic += [f"assign {wire}_d = {_priority(data)};", f"assign {wire}_we = {' || '.join(writes)};"]
            if external:
                self.ports += [f"output [{abits - 1}:0] {wire}_addr", f"input [{width - 1}:0] {wire}_din"]
                self.logic += [f"assign {wire}_addr = {wire}_a;", f"assign {wire}_q = {wire}_din;"]
                if data:
                    self.ports += [f"output [{width - 1}:0] {wire}_dout", f"output {wire}_write"]
                    self.logic += [f"assign {wire}_dout = {wire}_d;", f"assign {wire}_write = {wire}_we;"]
                continue
            self.decls.append(f"reg [{width - 1}:0] {wire}_r;")
            write = f"if ({wire}_we) {name}[{wire}_a] <= {wire}_d; " if data else ""
            self.logic += [f"always @(posedge clk) begin {write}{wire}_r <= {name}[{wire}_a]; end",
                           f"assign {wire}_q = {wire}_r;"]

    # ----- registers ------------------------------------------------------------------------
    def registers(self) -> None:
        """A register for each value read after the cycle it is made in; a chain when pipelined."""
        for uid in sorted(self.held):
            node = self.nodes[uid]
            width, region = self.width(node), self.home[id(node)]
            self.decls.append(f"reg [{width - 1}:0] h{uid};")
            self.logic.append(f"always @(posedge clk) if ({region.active(node.finish[0])}) h{uid} <= w{uid};")
        for uid, length in sorted(self.chains.items()):
            width = self.width(self.nodes[uid])
            for distance in range(1, length + 1):
                self.decls.append(f"reg [{width - 1}:0] h{uid}_{distance};")
                previous = f"w{uid}" if distance == 1 else f"h{uid}_{distance - 1}"
                self.logic.append(f"always @(posedge clk) h{uid}_{distance} <= {previous};")


def _priority(choices: list[tuple[str, str]]) -> str:
    """A multiplexer over (condition, value) pairs, the last one the default."""
    expr = choices[-1][1]
    for condition, chosen in reversed(choices[:-1]):
        expr = f"{condition} ? {chosen} : {expr}"
    return expr


_CHAINED = {
    "add": lambda operand, width: f"{operand(0)} + {operand(1)}",
    "mul": lambda operand, width: f"{operand(0)} * {operand(1)}",
    "logic": lambda operand, width: f"{operand(0)} ^ {operand(1)}",
    "shift": lambda operand, width: f"{operand(0)} << {operand(1)}",
    "cmp": lambda operand, width: f"{{{width - 1}'d0, {operand(0)} < {operand(1)}}}",
    "select": lambda operand, width: f"{operand(0, 1)} ? {operand(1)} : {operand(2)}",
}
"""Verilog of an integer operation bound to no shared core, from its operands' expressions."""


def generate_verilog(estimator: Estimator) -> str:
    """The kernel's RTL for an estimate that kept its schedules, followed by the cores it uses."""
    return RtlGenerator(estimator).generate() + cores_verilog()
