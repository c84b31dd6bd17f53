"""Each bundled kernel, compiled by gcc, against an independent numpy/Python reference."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from dse.kernels import bundled_kernels

TIER_A = ["gemm_ncubed", "gemm_blocked", "stencil2d", "stencil3d", "spmv_ellpack", "md_knn", "viterbi"]
TIER_B = ["spmv_crs", "nw", "kmp", "fft_strided", "sort_radix"]


def ptr(array: np.ndarray):
    assert array.flags["C_CONTIGUOUS"]
    return array.ctypes.data_as(ctypes.c_void_p)


def test_every_tier_is_bundled():
    assert set(TIER_A + TIER_B) <= set(bundled_kernels())


@pytest.mark.parametrize("name, top", [("gemm_ncubed", "gemm"), ("gemm_blocked", "bbgemm")])
def test_gemm(compiled_kernel, name, top):
    rng = np.random.default_rng(1)
    m1, m2 = rng.uniform(-1, 1, 4096), rng.uniform(-1, 1, 4096)
    prod = np.zeros(4096)
    getattr(compiled_kernel(name), top)(ptr(m1), ptr(m2), ptr(prod))
    expected = m1.reshape(64, 64) @ m2.reshape(64, 64)
    np.testing.assert_allclose(prod.reshape(64, 64), expected, rtol=1e-12, atol=1e-12)


def test_stencil2d(compiled_kernel):
    rng = np.random.default_rng(2)
    orig = rng.integers(1, 1000, 128 * 64, dtype=np.int32)
    filt = rng.integers(1, 1000, 9, dtype=np.int32)
    sol = np.zeros(128 * 64, dtype=np.int32)
    compiled_kernel("stencil2d").stencil(ptr(orig), ptr(sol), ptr(filt))
    grid, taps = orig.reshape(128, 64).astype(np.int64), filt.reshape(3, 3)
    expected = np.zeros((128, 64), dtype=np.int64)
    for k1 in range(3):
        for k2 in range(3):
            expected[:126, :62] += taps[k1, k2] * grid[k1:k1 + 126, k2:k2 + 62]
    np.testing.assert_array_equal(sol.reshape(128, 64), expected)
    assert not sol.reshape(128, 64)[126:, :].any() and not sol.reshape(128, 64)[:, 62:].any()


def test_stencil3d(compiled_kernel):
    rng = np.random.default_rng(3)
    coef = rng.integers(-1, 7, 2, dtype=np.int32)
    orig = rng.integers(0, 1000, 16384, dtype=np.int32)
    sol = np.zeros(16384, dtype=np.int32)
    compiled_kernel("stencil3d").stencil3d(ptr(coef), ptr(orig), ptr(sol))
    # Flat index k + 16*(j + 32*i): axes (height i, column j, row k).
    vol = orig.reshape(32, 32, 16).astype(np.int64)
    expected = vol.copy()
    centre = vol[1:-1, 1:-1, 1:-1]
    neighbours = (vol[2:, 1:-1, 1:-1] + vol[:-2, 1:-1, 1:-1] + vol[1:-1, 2:, 1:-1]
                  + vol[1:-1, :-2, 1:-1] + vol[1:-1, 1:-1, 2:] + vol[1:-1, 1:-1, :-2])
    expected[1:-1, 1:-1, 1:-1] = coef[0] * centre + coef[1] * neighbours
    np.testing.assert_array_equal(sol.reshape(32, 32, 16), expected)


def _sparse_rows(rng, rows=494, cols=494, max_per_row=10):
    """Random sparse matrix as per-row (column indices, values), 2..10 nonzeros a row."""
    return [(rng.choice(cols, n, replace=False), rng.uniform(-1, 1, n))
            for n in rng.integers(2, max_per_row + 1, rows)]


def test_spmv_ellpack(compiled_kernel):
    rng = np.random.default_rng(4)
    rows = _sparse_rows(rng)
    nzval, cols = np.zeros((494, 10)), np.zeros((494, 10), dtype=np.int32)
    for i, (c, v) in enumerate(rows):
        nzval[i, :len(v)], cols[i, :len(c)] = v, c
    vec = rng.uniform(-1, 1, 494)
    out = rng.uniform(-1, 1, 494)  # ellpack accumulates into out
    expected = out + np.array([v @ vec[c] for c, v in rows])
    compiled_kernel("spmv_ellpack").ellpack(ptr(nzval), ptr(cols), ptr(vec), ptr(out))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_spmv_crs(compiled_kernel):
    rng = np.random.default_rng(5)
    rows = _sparse_rows(rng)
    val = np.concatenate([v for _, v in rows])
    cols = np.concatenate([c for c, _ in rows]).astype(np.int32)
    delimiters = np.concatenate([[0], np.cumsum([len(v) for _, v in rows])]).astype(np.int32)
    vec, out = rng.uniform(-1, 1, 494), np.zeros(494)
    compiled_kernel("spmv_crs").spmv(ptr(val), ptr(cols), ptr(delimiters), ptr(vec), ptr(out))
    np.testing.assert_allclose(out, [v @ vec[c] for c, v in rows], rtol=1e-12, atol=1e-12)


def test_md_knn(compiled_kernel):
    rng = np.random.default_rng(6)
    pos = [rng.uniform(0, 20, 256) for _ in range(3)]
    neighbours = np.array([rng.choice(np.delete(np.arange(256), i), 16, replace=False)
                           for i in range(256)], dtype=np.int32)
    force = [np.zeros(256) for _ in range(3)]
    compiled_kernel("md_knn").md_kernel(*map(ptr, force), *map(ptr, pos), ptr(neighbours))
    delta = [p[:, None] - p[neighbours] for p in pos]
    r2inv = 1.0 / sum(d * d for d in delta)
    r6inv = r2inv ** 3
    scale = r2inv * r6inv * (1.5 * r6inv - 2.0)
    for got, d in zip(force, delta):
        np.testing.assert_allclose(got, (d * scale).sum(axis=1), rtol=1e-10)


def test_viterbi(compiled_kernel):
    rng = np.random.default_rng(7)
    obs = rng.integers(0, 64, 140).astype(np.uint8)
    init, transition, emission = (-np.log(rng.uniform(0.01, 1, n)) for n in (64, 4096, 4096))
    path = np.zeros(140, dtype=np.uint8)
    compiled_kernel("viterbi").viterbi(ptr(obs), ptr(init), ptr(transition), ptr(emission), ptr(path))
    trans, emit = transition.reshape(64, 64), emission.reshape(64, 64)
    llike = np.zeros((140, 64))
    llike[0] = init + emit[:, obs[0]]
    for t in range(1, 140):
        llike[t] = (llike[t - 1][:, None] + trans).min(axis=0) + emit[:, obs[t]]
    expected = np.zeros(140, dtype=np.uint8)
    expected[-1] = np.argmin(llike[-1])
    for t in range(138, -1, -1):
        expected[t] = np.argmin(llike[t] + trans[:, expected[t + 1]])
    np.testing.assert_array_equal(path, expected)


def _needleman_wunsch(seq_a: bytes, seq_b: bytes) -> tuple[bytes, bytes]:
    """Global alignment (+1/-1/-1); ties prefer a gap in B, then a gap in A, then a match."""
    n_a, n_b = len(seq_a), len(seq_b)
    score = [[-(a + b) if a == 0 or b == 0 else 0 for a in range(n_a + 1)] for b in range(n_b + 1)]
    move = [[None] * (n_a + 1) for _ in range(n_b + 1)]
    for b in range(1, n_b + 1):
        for a in range(1, n_a + 1):
            diagonal = score[b - 1][a - 1] + (1 if seq_a[a - 1] == seq_b[b - 1] else -1)
            above, beside = score[b - 1][a] - 1, score[b][a - 1] - 1
            best = max(diagonal, above, beside)
            score[b][a] = best
            move[b][a] = "gap_b" if best == beside else "gap_a" if best == above else "match"
    out_a, out_b, a, b = [], [], n_a, n_b
    while a > 0 or b > 0:
        step = move[b][a] if a > 0 and b > 0 else "gap_b" if a > 0 else "gap_a"
        if step == "match":
            out_a.append(seq_a[a - 1]); out_b.append(seq_b[b - 1]); a -= 1; b -= 1
        elif step == "gap_b":
            out_a.append(seq_a[a - 1]); out_b.append(ord("-")); a -= 1
        else:
            out_a.append(ord("-")); out_b.append(seq_b[b - 1]); b -= 1
    pad = lambda s: bytes(s) + b"_" * (n_a + n_b - len(s))
    return pad(out_a), pad(out_b)


def test_nw(compiled_kernel):
    rng = np.random.default_rng(8)
    seq_a, seq_b = (rng.choice(list(b"ACGT"), 128).astype(np.uint8) for _ in range(2))
    aligned_a, aligned_b = np.zeros(256, np.uint8), np.zeros(256, np.uint8)
    scores, moves = np.zeros(129 * 129, np.int32), np.zeros(129 * 129, np.uint8)
    compiled_kernel("nw").needwun(ptr(seq_a), ptr(seq_b), ptr(aligned_a), ptr(aligned_b), ptr(scores), ptr(moves))
    expected_a, expected_b = _needleman_wunsch(seq_a.tobytes(), seq_b.tobytes())
    assert aligned_a.tobytes() == expected_a and aligned_b.tobytes() == expected_b
    assert aligned_a.tobytes().replace(b"-", b"").rstrip(b"_") == seq_a.tobytes()[::-1]


def test_kmp(compiled_kernel):
    rng = np.random.default_rng(9)
    text = rng.choice(list(b"bul"), 32411).astype(np.uint8)
    pattern = np.frombuffer(b"bull", dtype=np.uint8).copy()
    next_table, matches = np.zeros(4, np.int32), np.zeros(1, np.int32)
    status = compiled_kernel("kmp").kmp(ptr(pattern), ptr(text), ptr(next_table), ptr(matches))
    expected = sum(text[i:i + 4].tobytes() == b"bull" for i in range(32411 - 3))
    assert status == 0 and expected > 100 and matches[0] == expected


def test_fft_strided(compiled_kernel):
    rng = np.random.default_rng(10)
    signal = rng.uniform(-1, 1, 1024) + 1j * rng.uniform(-1, 1, 1024)
    real, img = signal.real.copy(), signal.imag.copy()
    angle = 2 * np.pi * np.arange(512) / 1024
    real_twid, img_twid = np.cos(angle), -np.sin(angle)
    compiled_kernel("fft_strided").fft(ptr(real), ptr(img), ptr(real_twid), ptr(img_twid))
    bit_reversed = [int(f"{i:010b}"[::-1], 2) for i in range(1024)]
    np.testing.assert_allclose(real + 1j * img, np.fft.fft(signal)[bit_reversed], atol=1e-9)


def test_sort_radix(compiled_kernel):
    rng = np.random.default_rng(11)
    values = rng.integers(0, 2**31 - 1, 2048, dtype=np.int32)
    a, b = values.copy(), np.zeros(2048, np.int32)
    bucket = np.zeros(2049, np.int32)  # hist touches bucket[2048], one past the end
    scan = np.zeros(128, np.int32)
    compiled_kernel("sort_radix").ss_sort(ptr(a), ptr(b), ptr(bucket), ptr(scan))
    np.testing.assert_array_equal(a, np.sort(values))
