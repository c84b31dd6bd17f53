"""Sweeps: parallel runs into the store, resume after kill -9, failures and time-outs as
results, Dask, export, samplers and bad input."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from dse import Space
from dse.backends import BACKENDS, Backend, Result
from dse.dataset import results_frame
from dse.executor import LocalExecutor, make_executor
from dse.kernels import resolve_kernel
from dse.frontend import source_hash
from dse.paths import bundled
from dse.runner import design_points, run_points
from dse.searchers import SEARCHERS
from dse.store import Store, holds


def test_sweep_export_and_reuse(run_cli, tmp_path):
    db = tmp_path / "r.sqlite"
    code, out, err = run_cli("sweep", "gemm_ncubed", "--budget", 40, "--jobs", 2, "--db", db)
    assert code == 0, err
    assert "40 points, 0 already" in err and "40 ok" in err
    assert "fastest" in out and "Pareto front" in out
    code, _, err = run_cli("sweep", "gemm_ncubed", "--budget", 40, "--jobs", 2, "--db", db)
    assert "40 already in" in err and "0 run" in err
    for suffix in ("csv", "parquet"):
        code, _, err = run_cli("export", "--db", db, "-o", tmp_path / f"r.{suffix}")
        assert code == 0, err
        frame = pd.read_csv(tmp_path / "r.csv") if suffix == "csv" else pd.read_parquet(tmp_path / "r.parquet")
        assert len(frame) == 40 and frame.config_hash.nunique() == 40
        assert set(frame.status) == {"ok"}
        assert {"inner.unroll", "m1.partition", "latency_cycles", "util_dsp", "fmax_mhz", "runtime_s"} <= set(frame)
        assert (frame.kernel == "gemm_ncubed").all() and (frame.target == "xc7z020").all()
        assert (frame.latency_cycles > 0).all() and (frame.clock_ns == 10.0).all()
    with Store(db) as store:
        first = list(store.rows())[:3]
        chosen = results_frame(store, {row["key"] for row in first})
    assert chosen.config_hash.tolist() == [row["config_hash"] for row in first]


def test_killed_sweep_resumes_with_exactly_the_budget(tmp_path):
    db = tmp_path / "k.sqlite"
    command = [sys.executable, "-m", "dse.cli", "sweep", "stencil3d", "--budget", "120", "--jobs", "2",
               "--db", str(db)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    done = 0
    while time.time() < deadline and done < 15:
        time.sleep(0.05)
        if db.exists():
            try:
                done = sqlite3.connect(db).execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = dict(sqlite3.connect(db).execute("SELECT key, created FROM results"))
    assert 15 <= len(before) < 120
    subprocess.run(command, check=True, capture_output=True)
    after = dict(sqlite3.connect(db).execute("SELECT key, created FROM results"))
    assert len(after) == 120
    assert all(after[key] == created for key, created in before.items())  # nothing ran twice
    configs = [row[0] for row in sqlite3.connect(db).execute("SELECT config FROM results")]
    assert len(set(configs)) == 120


class _Flaky(Backend):
    """A backend that crashes on odd unroll factors and hangs on unroll 64."""

    name, fidelities, targets = "flaky", ("estimate",), ("xc7z020",)

    def version(self):
        return "1"

    def run(self, point, workdir):
        unroll = point.config.as_dict().get("inner.unroll", 1)
        if unroll == 64:
            time.sleep(1)
        if unroll in (2, 8):
            raise RuntimeError(f"tool crashed on unroll {unroll}")
        return Result("ok", {"latency_cycles": 1.0}, "1")


def _points(space, configs, fidelity="estimate"):
    source = resolve_kernel("gemm_ncubed")
    return design_points(configs, kernel="gemm_ncubed", source=str(source.path), source_hash=source_hash(source.path),
                         top="gemm", include_dirs=(), defines=(), target="xc7z020", clock_ns=10.0,
                         fidelity=fidelity)


def test_failures_and_timeouts_are_results(tmp_path, monkeypatch):
    monkeypatch.setitem(BACKENDS, "flaky", _Flaky)
    space = Space.load(bundled("pragmas") / "gemm_ncubed.toml")
    configs = [space.configuration({"inner.unroll": u}) for u in (1, 2, 4, 8, 64)]
    with Store(tmp_path / "f.sqlite") as store, LocalExecutor(1) as executor:
        summary = run_points(_points(space, configs), _Flaky(), store, executor, timeout=0.5)
        rows = {row["config"]["inner.unroll"]: row for row in store.rows()}
    assert summary.statuses == {"ok": 2, "failed": 2, "timeout": 1}
    assert rows[2]["status"] == "failed" and "RuntimeError: tool crashed on unroll 2" in rows[2]["error"]
    assert rows[64]["status"] == "timeout" and rows[64]["latency_cycles"] is None
    assert rows[64]["details"] == {"timeout_s": 0.5} and rows[64]["error"] == "no result after 0.5 s"
    assert rows[1]["latency_cycles"] == 1.0
    with Store(tmp_path / "f.sqlite") as store, LocalExecutor(1) as executor:
        again = run_points(_points(space, configs), _Flaky(), store, executor, timeout=0.5)  # as long: it stands
        longer = run_points(_points(space, configs), _Flaky(), store, executor, timeout=5)  # run again, in time
        rows = {row["config"]["inner.unroll"]: row for row in store.rows()}
    assert (again.reused, again.ran) == (5, 0) and (longer.reused, longer.ran) == (4, 1)
    assert longer.statuses == {"ok": 1} and rows[64]["latency_cycles"] == 1.0


def test_a_sweep_whose_points_all_time_out_says_so_and_runs_them_again_without_the_limit(run_cli, tmp_path):
    db = tmp_path / "t.sqlite"
    code, out, err = run_cli("sweep", "gemm_ncubed", "--budget", 2, "--jobs", 1, "--timeout", 0.0001, "--db", db)
    assert code == 0 and "no design has results (2 timeout: see dse export for the errors)" in out
    code, out, err = run_cli("sweep", "gemm_ncubed", "--budget", 2, "--jobs", 1, "--db", db)
    assert code == 0 and "2 points, 0 already in" in err and "2 run (2 ok)" in err


@pytest.mark.parametrize("row, timeout, expected", [
    ({"status": "ok", "runtime_s": 90.0, "details": {}}, 10.0, True),
    ({"status": "failed", "runtime_s": 1.0, "details": {}}, None, True),
    ({"status": "timeout", "runtime_s": 60.2, "details": {"timeout_s": 60.0}}, 60.0, True),
    ({"status": "timeout", "runtime_s": 60.2, "details": {"timeout_s": 60.0}}, 120.0, False),
    ({"status": "timeout", "runtime_s": 60.2, "details": {"timeout_s": 60.0}}, None, False),
    ({"status": "timeout", "runtime_s": 30.0, "details": {}}, 20.0, True),  # stored before the limit was
])
def test_a_stored_timeout_holds_only_for_a_limit_no_longer_than_it_had(row, timeout, expected):
    assert holds(row, timeout) is expected


def test_a_design_no_tool_would_build_is_recorded_infeasible(run_cli, tmp_path):
    space = (bundled("pragmas") / "sort_radix.toml").read_text()
    space = space.replace("[loops.sort_1]\n", "[loops.sort_1]\npipeline = [\"on\"]\n")
    (tmp_path / "s.toml").write_text(space)
    db = tmp_path / "i.sqlite"
    code, _, err = run_cli("sweep", "sort_radix", "--space", tmp_path / "s.toml", "--budget", 2, "--jobs", 1,
                           "--db", db)
    assert code == 0, err
    assert "2 infeasible" in err
    with Store(db) as store:
        rows = list(store.rows())
    assert [r["status"] for r in rows] == ["infeasible"] * 2 and rows[0]["latency_cycles"] is None
    assert "sort_1: unrolling flattens more than 60,000 operations" in rows[0]["error"]


def test_dask_executor_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    space = Space.load(bundled("pragmas") / "gemm_ncubed.toml")
    configs = SEARCHERS["random"](space, seed=3).propose(12)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        host_port = cluster.scheduler_address.split("://")[1]
        from dse.backends import get_backend
        with Store(tmp_path / "d.sqlite") as store, make_executor(f"dask://{host_port}", None) as executor:
            assert executor.jobs == 2
            summary = run_points(_points(space, configs), get_backend("builtin"), store, executor)
            assert summary.statuses == {"ok": 12} and len(store) == 12


def test_samplers_propose_distinct_legal_points():
    space = Space.load(bundled("pragmas") / "kmp.toml")
    for name, searcher in SEARCHERS.items():
        configs = searcher(space, seed=1).propose(50)
        assert len({c.hash for c in configs}) == 50, name
        assert all(not space.broken_constraints(c.as_dict()) for c in configs), name
        assert [c.hash for c in configs] == [c.hash for c in searcher(space, seed=1).propose(50)], name
    assert len(SEARCHERS["grid"](space).propose(10**6)) == space.count()


def test_latin_hypercube_covers_each_knob_evenly():
    space = Space.from_document({"kernel": {"name": "k"}, "loops": {"a": {"unroll": [1, 2, 4, 8]},
                                                                     "b": {"unroll": [1, 2, 4, 8]}}})
    configs = SEARCHERS["lhs"](space, seed=0).propose(4)
    assert sorted(c["a.unroll"] for c in configs) == [1, 2, 4, 8]
    assert sorted(c["b.unroll"] for c in configs) == [1, 2, 4, 8]


@pytest.mark.parametrize("args, message", [
    (["sweep", "nosuchkernel"], "not a bundled kernel"),
    (["sweep", "gemm_ncubed", "--target", "xc9z999"], "unknown target 'xc9z999'"),
    (["sweep", "gemm_ncubed", "--backend", "quartus"], "unknown backend 'quartus'"),
    (["sweep", "gemm_ncubed", "--fidelity", "impl"], "has no fidelity 'impl'"),
    (["sweep", "gemm_ncubed", "--db", "/nonexistent/dir/r.sqlite"], "cannot create the database"),
    (["sweep", "gemm_ncubed", "--executor", "ray://x"], "--executor ray://x"),
    (["export", "--db", "missing.sqlite", "-o", "x.csv"], "no such database"),
])
def test_bad_input_is_one_line_and_exit_2(run_cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*args)
    assert code == 2
    assert err.startswith("dse: error: ") and message in err and err.count("\n") == 1


def test_corrupt_and_foreign_databases(run_cli, tmp_path):
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database, just text " * 100)
    code, _, err = run_cli("sweep", "gemm_ncubed", "--budget", 2, "--db", corrupt)
    assert code == 2 and "cannot use as a results database" in err and err.count("\n") == 1
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE people (name TEXT)")
    code, _, err = run_cli("export", "--db", foreign, "-o", tmp_path / "x.csv")
    assert code == 2 and "not an hls-dse one (tables: people)" in err
