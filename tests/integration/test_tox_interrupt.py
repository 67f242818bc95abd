"""Ctrl-C under `tox -e run` keeps the run's `interrupted` record.

Running tox itself here would build a virtualenv and install torch into it (minutes, and a
network the tests may not have), so this test sends `bench run` exactly what tox 4 sends on
Ctrl-C, with the timeouts tox.ini gives the `run` environment (tox's defaults where it gives
none): the terminal's SIGINT to the whole foreground process group (bench gets it directly),
then tox's own escalation (tox/execute/local_sub_process, LocalSubprocessExecuteStatus.interrupt):
wait `suicide_timeout`, SIGINT; wait `interrupt_timeout`, SIGTERM; wait `terminate_timeout`,
SIGKILL. Bench reads a second SIGINT as "stop at once", so with tox's defaults (0, 0.3 and 0.2
seconds) a run whose current step takes a moment to finish loses its record.
"""

from __future__ import annotations

import configparser
import json
import os
import signal
import subprocess
import sys
import time

from tests.helpers import ROOT, TOY

TOX_DEFAULTS = {"suicide_timeout": 0.0, "interrupt_timeout": 0.3, "terminate_timeout": 0.2}  # tox 4's own


def tox_timeouts(env: str = "run") -> dict[str, float]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return {key: float(parser.get(f"testenv:{env}", key, fallback=parser.get("testenv", key, fallback=str(default))))
            for key, default in TOX_DEFAULTS.items()}


def exited(proc: subprocess.Popen, timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_ctrl_c_under_tox_run_keeps_the_interrupted_record(tmp_path):
    timeouts = tox_timeouts()
    results, cue = tmp_path / "results", tmp_path / "cue"
    # the step in progress when Ctrl-C comes takes a second more to finish (an unrolled step on a CPU takes longer)
    settings = {**TOY, "steps": 40, "cue": "wait_for_stop", "cue_at": 3, "cue_dir": str(cue), "cue_linger": 1.0}
    cmd = [sys.executable, "-m", "bench.cli", "run", "--methods", "cue_ae", "--dataset", "toy", "--device", "cpu",
           "--results-dir", str(results), "--workdir", str(tmp_path / "runs"), "--no-progress", "--tracker", "none"]
    cmd += [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    env = {**os.environ, "BENCH_PLUGINS": "tests.plugin", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not (cue.is_dir() and any(cue.iterdir())) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C reaches every process of the foreground group
        time.sleep(0.05)  # tox's own handler runs, then it escalates:
        if not exited(proc, timeouts["suicide_timeout"]):
            proc.send_signal(signal.SIGINT)
            if not exited(proc, timeouts["interrupt_timeout"]):
                proc.terminate()
                if not exited(proc, timeouts["terminate_timeout"]):
                    proc.kill()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    records = list((results / "runs").glob("*.json")) if (results / "runs").exists() else []
    assert proc.returncode == 130 and len(records) == 1, (timeouts, proc.returncode, err.decode()[-2000:])
    record = json.loads(records[0].read_text())
    assert record["status"] == "interrupted" and record["message"].startswith("stopped by signal 2 at step 3")
