"""`convkit explore` as a user runs it: prints the URL, serves, stops cleanly on SIGTERM and
Ctrl-C, and answers bad input with one line and exit code 2."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from _web import tiny_model

CMD = [sys.executable, "-c", "from convkit_cli import main; main()", "explore"]


def _start(args, cwd):
    proc = subprocess.Popen(CMD + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, match.group(0)


def _info(url):
    with urllib.request.urlopen(url + "api/info", timeout=30) as resp:
        return json.load(resp)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_then_stops_cleanly(tmp_path, sig):
    proc, url = _start(["--port", "0", "--no-browser"], tmp_path)
    try:
        info = _info(url)
        assert info["model"]["available"] is False
        assert "convkit train" in info["model"]["message"]
    finally:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err


def test_default_model_is_runs_digits(tmp_path):
    (tmp_path / "runs" / "digits").mkdir(parents=True)
    tiny_model(tmp_path / "runs" / "digits" / "model.npz")
    proc, url = _start(["--port", "0", "--no-browser"], tmp_path)
    try:
        model = _info(url)["model"]
        assert model["available"] and model["path"] == os.path.join("runs", "digits", "model.npz")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _run(args, cwd):
    return subprocess.run(CMD + args, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_port_in_use_is_one_line_exit_2(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run(["--port", str(port), "--no-browser"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"Error: port {port} on 127.0.0.1 is in use; pick another with --port "
                                     f"(0 = any free port)")


def test_bad_model_file_is_a_model_format_error(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a model at all")
    result = _run([str(bad), "--port", "0", "--no-browser"], tmp_path)
    assert result.returncode == 2
    assert re.fullmatch(r"Error: ModelFormatError: .+\n", result.stderr)


def test_missing_model_file(tmp_path):
    result = _run(["nope.npz", "--port", "0", "--no-browser"], tmp_path)
    assert result.returncode == 2 and result.stderr == "Error: model file not found: nope.npz\n"


def test_bad_port_is_a_usage_error(tmp_path):
    result = _run(["--port", "70000"], tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_help_lists_the_options(tmp_path):
    result = _run(["--help"], tmp_path)
    assert result.returncode == 0
    assert "--port" in result.stdout and "--no-browser" in result.stdout and "MODEL" in result.stdout
