"""``authgate demo`` end to end: every printed shell line is executed with Debian's ``curl``.

The demo runs as a real subprocess (``--port 0``: free ports), its printed block is executed line
by line in one bash session (variables flow from one line to the next, exactly as when pasted),
each request line's final HTTP status is compared with the step's ``(expect N)``, and Ctrl-C
(SIGINT) must stop everything cleanly.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

_EXPECT = re.compile(r"^# (\d+)\. (.*?)(?: \(expect (\d+)\))?$")
_READY = "# serving — Ctrl-C to stop"


def _read_block(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:  # bounded by the test timeout; the demo prints then serves
        line = line.rstrip("\n")
        if line == _READY:
            return lines
        lines.append(line)
    pytest.fail(f"demo exited before serving: {lines}")


def _steps(block: list[str]) -> list[tuple[str, int | None, str]]:
    """(title, expected status or None, command) per numbered step."""
    steps: list[tuple[str, int | None, str]] = []
    for index, line in enumerate(block):
        found = _EXPECT.match(line)
        if found:
            expect = int(found.group(3)) if found.group(3) else None
            steps.append((found.group(2), expect, block[index + 1]))
    return steps


@pytest.mark.timeout(180)
def test_every_printed_line_answers_as_announced(tmp_path: Path) -> None:
    curl = shutil.which("curl")
    assert curl is not None, "Debian's curl is part of the test image"
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    proc = subprocess.Popen(
        [
            str(Path(venv_bin) / "authgate"),
            "demo",
            "--port",
            "0",
            "--workdir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        block = _read_block(proc)
        bootstrap = next(line for line in block if line.startswith("BOOTSTRAP="))
        steps = _steps(block)
        assert len(steps) == 13
        script = [bootstrap.split("#")[0]]
        for _, _, command in steps:
            script += [command, 'echo "@@ $?"']
        run = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        outputs = run.stdout.split("@@ ")
        assert len(outputs) == len(steps) + 1, run.stdout + run.stderr
        answers: list[str] = [outputs[0]]
        for chunk in outputs[1:-1]:
            rc, _, rest = chunk.partition("\n")
            assert rc == "0", (rc, run.stderr)
            answers.append(rest)
        assert outputs[-1].strip() == "0", run.stderr
        for (title, expect, _), answer in zip(steps, answers, strict=True):
            if expect is None:
                assert answer.strip() == "", (title, answer)
                continue
            lines = [line for line in answer.splitlines() if line.strip()]
            assert lines, (title, run.stderr)
            assert lines[-1] == str(expect), (title, answer)
        by_title = dict(zip([t for t, _, _ in steps], answers, strict=True))
        assert "auth.missing_token" in by_title["no token: refused"]
        refused = by_title["POST needs role Admin: 403 auth.role_missing"]
        assert '"code":"auth.role_missing"' in refused
        assert "Admin role missing" in refused
        dpop = next(a for t, a in by_title.items() if t.startswith("a DPoP-bound"))
        assert '"x-authgate-kind":"client"' in dpop
        hop = next(a for t, a in by_title.items() if t.startswith("token exchange hop"))
        assert '"sub":"bob@example.com"' in hop
        assert '"cid":' in hop
        upload = next(a for t, a in by_title.items() if t.startswith("multipart upload"))
        assert '"size":86016' in upload
        ws = next(a for t, a in by_title.items() if t.startswith("WebSocket echo"))
        assert "hello authgate" in ws
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "# stopping" in rest
