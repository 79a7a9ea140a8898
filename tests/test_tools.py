"""Every script in tools/ still imports and parses its arguments: `--help` exits 0 and prints its usage.

The tools are the benchmarks and evaluations the README's figures come from; they import library internals, so an
API change in tracker/ can break them without any other test noticing. One subprocess runs them all (the imports
are paid once), so the CLI state of one tool cannot leak into this test process."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tool_scripts import load_tool

ROOT = Path(__file__).resolve().parents[1]
TOOLS = sorted((ROOT / "tools").glob("*.py"))
HELP_TIMEOUT_S = 300  # all tools together; about 10 s on a 2-core machine

_RUNNER = r"""
import contextlib, io, json, runpy, sys
results = {}
for path in sys.argv[1:]:
    sys.argv = [path, "--help"]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            runpy.run_path(path, run_name="__main__")
        results[path] = ["no exit", "usage:" in out.getvalue(), out.getvalue()[-300:]]
    except SystemExit as stop:
        results[path] = [stop.code or 0, "usage:" in out.getvalue(), out.getvalue()[-300:]]
    except BaseException as error:
        results[path] = [repr(error), "usage:" in out.getvalue(), out.getvalue()[-300:]]
print(json.dumps(results))
"""


def test_every_tool_prints_its_help():
    assert len(TOOLS) >= 10, "tools/ lost its scripts"
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, *map(str, TOOLS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=HELP_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    failed = {Path(p).name: r for p, r in results.items() if r[0] != 0 or not r[1]}
    assert not failed, failed


def test_bench_core_refuses_a_device_it_cannot_use_before_measuring(monkeypatch, capsys):
    """`bench_core.py --device cuda` on a machine without CUDA (here cuda:99, absent on any machine): one usage
    error and exit status 2 before the table starts, not a traceback after its header."""
    bench_core = load_tool("bench_core")
    monkeypatch.setattr(sys, "argv", ["bench_core.py", "--device", "cuda:99", "--quick", "--frames", "1"])
    try:
        bench_core.main()
    except SystemExit as stop:
        assert stop.code == 2
    else:
        raise AssertionError("bench_core.main() accepted a device that does not exist")
    captured = capsys.readouterr()
    assert "cuda:99" in captured.err and "ours ms" not in captured.out


def test_id_timeline_names_a_missing_file_in_one_usage_line(tmp_path, capsys):
    """A missing gt or result file was a FileNotFoundError traceback."""
    tool = load_tool("id_timeline")
    (tmp_path / "seq" / "gt").mkdir(parents=True)
    (tmp_path / "seq" / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
    for argv, missing in (
        ([str(tmp_path / "nope"), str(tmp_path / "r.txt")], tmp_path / "nope" / "gt" / "gt.txt"),
        ([str(tmp_path / "seq"), str(tmp_path / "r.txt")], tmp_path / "r.txt"),
    ):
        with pytest.raises(SystemExit) as stop:
            tool.main(argv)
        assert stop.value.code == 2
        assert f"error: no such file: {missing}" in capsys.readouterr().err
