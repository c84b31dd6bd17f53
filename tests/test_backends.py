"""Vitis HLS and Bambu: report parsers on real reports, rendered scripts and command lines
against golden files, and sweeps end to end through fake tools that replay real reports."""

import json
import sqlite3
from pathlib import Path

import pytest

from dse.backends import DesignPoint, get_backend
from dse.frontend import source_hash
from dse.kernels import resolve_kernel
from dse.parsers import parse_export_xml, parse_report
from dse.space import Configuration

from conftest import REPO, REPORTS

FAKES = Path(__file__).resolve().parent / "fakes"
GOLDEN = Path(__file__).resolve().parent / "golden"
VITIS, BAMBU = REPORTS / "vitis_hls", REPORTS / "bambu"


@pytest.mark.parametrize("tool, name, metrics", [
    ("vitis", "machsuite_gemm_ncubed_vitis2022.1_gemm_csynth.xml",
     {"latency_cycles": 88193, "ii": 88194, "lut": 67239, "ff": 37773, "dsp": 52, "bram": 0, "uram": 0,
      "clock_ns_est": 7.01, "fmax_mhz": 142.65}),
    ("vitis", "gaussian_vitis2020.2_csynth.xml",
     {"latency_cycles": 262673, "ii": 262674, "lut": 1870, "ff": 973, "dsp": 0, "bram": 3, "uram": 0,
      "clock_ns_est": 6.427, "fmax_mhz": 155.59}),
    ("vitis", "gaussian_vitis2020.2_gaussian_csynth.rpt",
     {"latency_cycles": 262673, "ii": 262674, "lut": 1870, "ff": 973, "dsp": 0, "bram": 3,
      "clock_ns_est": 6.427, "fmax_mhz": 155.59}),
    ("vitis", "gaussian_vitis2020.2_csynth.rpt",  # the summary table has no clock estimate
     {"latency_cycles": 262673, "ii": 262674, "lut": 1870, "ff": 973, "dsp": 0, "bram": 3,
      "clock_ns_est": None, "fmax_mhz": None}),
    ("bambu", "matmul_bambu0.9.8_config0_output.log",
     {"latency_cycles": None, "ff": 451, "dsp": 3, "fmax_mhz": 225.6, "clock_ns_est": 4.433}),
    ("bambu", "bambu_2024.10_simulate_log_EXCERPT.txt",
     {"latency_cycles": 28310, "ff": None, "dsp": None, "fmax_mhz": None, "clock_ns_est": None}),
    ("bambu", "bambu_results_0_bambu2024.10_simulate.xml",
     {"latency_cycles": 29988, "lut": None, "ff": None, "dsp": None, "bram": None, "fmax_mhz": None}),
])
def test_parsers_read_every_real_report(tool, name, metrics):
    report = parse_report(tool, (VITIS if tool == "vitis" else BAMBU) / name)
    assert report.metrics == metrics and report.error is None


def test_parsers_keep_details_errors_and_capacity():
    gemm = parse_report("vitis", VITIS / "machsuite_gemm_ncubed_vitis2022.1_gemm_csynth.xml")
    assert gemm.available == {"lut": 303600, "ff": 607200, "dsp": 2800, "bram": 2060}
    assert gemm.details["part"] == "xc7vx485t-ffg1761-2" and gemm.details["tool_version"] == "2022.1"
    assert gemm.details["loops"] == [{"name": "outer", "trip_count": 64, "latency": 88192,
                                      "iteration_latency": 1378, "ii": None, "depth": None}]
    gaussian = parse_report("vitis", VITIS / "gaussian_vitis2020.2_csynth.xml")
    assert [(loop["name"], loop["ii"], loop["depth"]) for loop in gaussian.details["loops"]] == [
        ("buf_x1", 1, 1), ("buf_x2", 1, 1), ("win_y_win_x", 1, 2), ("for_y_for_x", 1, 4)]
    assert gaussian.available["uram"] == 96
    binding = parse_report("bambu", BAMBU / "matmul_bambu0.9.8_config16_MEM_ACC_NN_error_after_binding.log")
    assert binding.error.startswith("error -> Number of ports not specialized for Datapath_i")
    assert binding.details["control_steps"] == 14 and binding.metrics["ff"] == 387
    options = parse_report("bambu", BAMBU / "matmul_bambu0.9.8_config1_error.log")
    assert options.error == "error -> the number of channels cannot be specified for MEM_ACC_11"
    success = parse_report("bambu", BAMBU / "matmul_bambu0.9.8_config0_output.log")
    assert success.details["estimated_area"] == 445 and success.details["tool_version"] == "0.9.8"


EXPORT_IMPL = (
        "<profile><RunData><RUN_TYPE>impl</RUN_TYPE></RunData><TimingReport><TargetClockPeriod>10.000"
        "</TargetClockPeriod><AchievedClockPeriod>8.000</AchievedClockPeriod></TimingReport><AreaReport><Resources>"
        "<BRAM>2</BRAM><DSP>0</DSP><FF>8675</FF><LUT>9000</LUT><SLICE>3275</SLICE></Resources><AvailableResources>"
        "<BRAM>280</BRAM><DSP>220</DSP><FF>106400</FF><LUT>53200</LUT></AvailableResources></AreaReport></profile>")


def test_export_report_and_undef_values(tmp_path):
    """Resources after export_design and an undefined latency (a loop of unknown trip count)."""
    (tmp_path / "export_impl.xml").write_text(EXPORT_IMPL)
    exported = parse_export_xml(tmp_path / "export_impl.xml")
    assert exported.metrics == {"lut": 9000, "ff": 8675, "dsp": 0, "bram": 2, "clock_ns_est": 8.0, "fmax_mhz": 125.0}
    text = (VITIS / "machsuite_gemm_ncubed_vitis2022.1_gemm_csynth.xml").read_text()
    (tmp_path / "csynth.xml").write_text(text.replace("<Worst-caseLatency>88193", "<Worst-caseLatency>undef"))
    assert parse_report("vitis", tmp_path / "csynth.xml").metrics["latency_cycles"] is None


@pytest.fixture
def fake_tools(monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKES}:{Path('/usr/bin')}:{Path('/bin')}")
    monkeypatch.setenv("FAKE_VITIS_REPORT", str(VITIS / "machsuite_gemm_ncubed_vitis2022.1_gemm_csynth.xml"))
    monkeypatch.setenv("FAKE_BAMBU_LOG", str(BAMBU / "matmul_bambu0.9.8_config0_output.log"))
    monkeypatch.setenv("FAKE_BAMBU_ERROR_LOG", str(BAMBU / "matmul_bambu0.9.8_config1_error.log"))
    monkeypatch.setenv("FAKE_BAMBU_XML", str(BAMBU / "bambu_results_0_bambu2024.10_simulate.xml"))


def _point(fidelity: str, config: dict) -> DesignPoint:
    source = resolve_kernel("gemm_ncubed")
    return DesignPoint("gemm_ncubed", str(source.path), source_hash(source.path), None, (), (),
                       Configuration.of(config), "xc7z020", 10.0, fidelity)


def _golden(name: str, text: str) -> None:
    expected = (GOLDEN / "tools" / name).read_text()
    assert text.replace(str(REPO), "<repo>") == expected


def test_rendered_script_and_command_line_match_golden_files(fake_tools):
    config = {"inner.unroll": 4, "middle.pipeline": "on", "middle.ii": 2, "m1.partition": "cyclic", "m1.factor": 4}
    _golden("run_hls.tcl", get_backend("vitis").script(_point("syn", config)))
    bambu = get_backend("bambu")
    command = bambu.command(_point("simulate", {"inner.unroll": 4, "bambu.opt_level": "O3",
                                                "bambu.channels_type": "MEM_ACC_NN", "bambu.channels_number": 2}),
                            "gemm.c")
    _golden("bambu_command.txt", " ".join(command) + "\n")


SPACE = """
[kernel]
name = "gemm_ncubed"
[loops.inner]
unroll = [1, 2, 4]
pipeline = ["off", "on"]
[tools.bambu]
opt_level = ["O2"]
"""


@pytest.mark.parametrize("backend, crash, hang", [
    ("vitis", ("FAKE_VITIS_CRASH_ON", "-factor 2"), ("FAKE_VITIS_HANG_ON", "-factor 4")),
    ("bambu", ("FAKE_BAMBU_CRASH_ON", "unroll 2"), ("FAKE_BAMBU_HANG_ON", "unroll 4")),
])
def test_sweep_through_a_fake_tool(run_cli, tmp_path, monkeypatch, fake_tools, backend, crash, hang):
    space = tmp_path / "space.toml"
    space.write_text(SPACE if backend == "bambu" else SPACE.replace('[tools.bambu]\nopt_level = ["O2"]\n', ""))
    monkeypatch.setenv(*crash)
    monkeypatch.setenv(*hang)
    db = tmp_path / "r.sqlite"
    code, out, err = run_cli("sweep", "gemm_ncubed", "--backend", backend, "--space", space, "--db", db,
                             "--budget", "6", "--jobs", "2", "--timeout", "3", "--sampler", "grid")
    assert code == 0, err
    rows = sqlite3.connect(db).execute("SELECT config, status, error, lut, ff, dsp, latency_cycles, "
                                       "backend_version, log_path FROM results").fetchall()
    by_unroll = {json.loads(r[0])["inner.unroll"]: r for r in rows}
    assert {r[1] for r in rows if json.loads(r[0])["inner.unroll"] == 1} == {"ok"}
    if backend == "vitis":
        assert len(rows) == 6  # inner.pipeline on/off: two designs per unroll factor
        assert by_unroll[1][3:8] == (67239, 37773, 52, 88193, "vitis_hls 2022.1")
        assert "exited with 1: ERROR: [HLS 200-70] [SYNCHK 200-79]" in by_unroll[2][2]
    else:
        assert len(rows) == 3 and "inner.pipeline: held at their neutral values" in err
        assert by_unroll[1][3:8] == (None, 451, 3, None, "bambu 0.9.8")
        assert by_unroll[2][2] == "error -> the number of channels cannot be specified for MEM_ACC_11"
        assert "#pragma GCC unroll 2" in (Path(by_unroll[2][8]).parent / "gemm.c").read_text()
    assert by_unroll[2][1] == "failed" and by_unroll[4][1] == "timeout" and Path(by_unroll[2][8]).is_file()


@pytest.mark.parametrize("args, message", [
    (["--backend", "vitis"], "vitis_hls or vivado_hls not found on PATH; source the settings64.sh"),
    (["--backend", "bambu", "--tool-path", "/nowhere"], "bambu not found in /nowhere; install PandA Bambu"),
    (["--backend", "vitis", "--fidelity", "simulate"], "backend 'vitis' has no fidelity 'simulate'"),
])
def test_tool_errors_are_one_line(run_cli, tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    code, out, err = run_cli("sweep", "gemm_ncubed", "--db", tmp_path / "r.sqlite", "--budget", "2", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_space_options_of_another_tool_are_refused(run_cli, tmp_path, fake_tools):
    space = tmp_path / "space.toml"
    space.write_text(SPACE)
    code, out, err = run_cli("sweep", "gemm_ncubed", "--backend", "vitis", "--space", space,
                             "--db", tmp_path / "r.sqlite")
    assert code == 2 and "knob 'bambu.opt_level' is an option of bambu; the vitis backend cannot apply it" in err
    space.write_text(SPACE.replace("opt_level", "opt_levle"))
    code, out, err = run_cli("sweep", "gemm_ncubed", "--backend", "bambu", "--space", space,
                             "--db", tmp_path / "r.sqlite")
    assert code == 2 and "unknown bambu option 'opt_levle' (did you mean 'opt_level'?)" in err


def test_parse_command_prints_store_metric_names(run_cli):
    code, out, err = run_cli("parse", "vitis", VITIS / "machsuite_gemm_ncubed_vitis2022.1_gemm_csynth.xml", "--json")
    parsed = json.loads(out)
    [(path, report)] = parsed.items()
    assert report["metrics"] == {"latency_cycles": 88193, "ii": 88194, "lut": 67239, "ff": 37773, "dsp": 52,
                                 "bram": 0, "clock_ns_est": 7.01, "fmax_mhz": 142.65}
    assert report["utilisation"] == {"util_lut": 22.15, "util_ff": 6.22, "util_dsp": 1.86, "util_bram": 0.0}
    code, out, err = run_cli("parse", "bambu", BAMBU / "matmul_bambu0.9.8_config1_error.log")
    assert code == 0 and "the number of channels cannot be specified for MEM_ACC_11" in out
    code, out, err = run_cli("parse", "vitis", REPORTS / "README.md")
    assert code == 2 and "README.md: Vitis reports read here are" in err


def test_import_reads_solutions_and_their_directives_back(run_cli, tmp_path, fake_tools):
    """A solution tree as a sweep through vitis leaves it: the directives it was run with come
    back as the same configuration, with the report's numbers."""
    config = {"inner.unroll": 4, "middle.pipeline": "on", "middle.ii": 2, "m1.partition": "cyclic", "m1.factor": 4,
              "m1.dim": 1}
    point = _point("csynth", config)
    from dse.render import render_tcl
    from dse.backends.base import point_kernel
    run = tmp_path / "runs" / "a"
    (run / "proj" / "solution1" / "syn" / "report").mkdir(parents=True)
    (run / "directives.tcl").write_text(render_tcl(point_kernel(point), point.config, "gemm_ncubed"))
    (run / "proj" / "solution1" / "syn" / "report" / "gemm_csynth.xml").write_text(
        (VITIS / "machsuite_gemm_ncubed_vitis2022.1_gemm_csynth.xml").read_text())
    (run / "proj" / "solution1" / "impl" / "report" / "verilog").mkdir(parents=True)
    (run / "proj" / "solution1" / "impl" / "report" / "verilog" / "export_impl.xml").write_text(EXPORT_IMPL)
    code, out, err = run_cli("import", tmp_path / "runs", "--db", tmp_path / "i.sqlite", "--kernel", "gemm_ncubed")
    assert code == 0 and "2 results imported" in err
    rows = sqlite3.connect(tmp_path / "i.sqlite").execute(
        "SELECT config, target, clock_ns, lut, backend_version, fidelity, latency_cycles, fmax_mhz, metrics "
        "FROM results ORDER BY fidelity").fetchall()
    assert all(json.loads(row[0]) == config for row in rows)
    assert rows[0][1:8] == ("xc7vx485t-ffg1761-2", 10.0, 67239, "vitis_hls 2022.1", "csynth", 88193, 142.65)
    # after place and route: measured resources and clock, the C synthesis latency
    assert rows[1][3:8] == (9000, "vitis_hls 2022.1", "impl", 88193, 125.0)
    assert json.loads(rows[1][8])["util_lut"] == 16.92
    code, out, err = run_cli("import", tmp_path / "nothing", "--db", tmp_path / "i.sqlite")
    assert code == 2 and "no Vitis/Vivado HLS solution" in err


def test_vivado_hls_dialect_and_a_missing_export_report(run_cli, tmp_path, fake_tools):
    text = (VITIS / "machsuite_gemm_ncubed_vitis2022.1_gemm_csynth.xml").read_text()
    (tmp_path / "old_csynth.xml").write_text(text.replace("DSP>", "DSP48E>"))  # Vivado HLS names DSPs DSP48E
    report = parse_report("vitis", tmp_path / "old_csynth.xml")
    assert report.metrics["dsp"] == 52 and report.available["dsp"] == 2800
    vivado = get_backend("vitis")
    vivado._version = "vivado_hls 2019.2"
    script = vivado.script(_point("csynth", {"inner.unroll": 2}))
    assert "config_array_partition -auto_partition_threshold 0 -auto_promotion_threshold 0" in script
    assert "-flow_target" not in script and "export_design" not in script
    code, out, err = run_cli("sweep", "gemm_ncubed", "--backend", "vitis", "--fidelity", "syn", "--budget", "1",
                             "--db", tmp_path / "r.sqlite", "--jobs", "1")
    status, error = sqlite3.connect(tmp_path / "r.sqlite").execute("SELECT status, error FROM results").fetchone()
    assert code == 0 and status == "failed"
    assert error == "report missing: proj/solution1/impl/report/verilog/export_syn.xml"
