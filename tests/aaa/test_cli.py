"""``authgate aaa --config FILE`` as a process: ports printed, answers, clean shutdown with audit flushed."""

from __future__ import annotations

import asyncio
import signal
import sys

import orjson
import pytest
import yaml
from tests.aaa.conftest import BREAKGLASS_PASSWORD, SECRET, aaa_config, run, tool

pytestmark = pytest.mark.anyio


async def test_cli_serves_and_shuts_down_cleanly(tmp_path) -> None:
    config = aaa_config(None, {"tacacs": {"enabled": False}})
    path = tmp_path / "aaa.yaml"
    path.write_text(yaml.safe_dump(config))
    audit = tmp_path / "audit.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from authgate.cli.aaa import app; app()",
        "--config",
        str(path),
        "--audit-file",
        str(audit),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("radius listening on 127.0.0.1 auth "), line
        port = int(line.split()[5])
        attrs = f'User-Name = "breakglass", User-Password = "{BREAKGLASS_PASSWORD}", Message-Authenticator = 0x00\n'
        rc, out = await run(
            tool("radclient"),
            "-x",
            "-r",
            "1",
            "-t",
            "10",
            f"127.0.0.1:{port}",
            "auth",
            SECRET,
            stdin=attrs,
        )
        assert rc == 0, out
        assert "shell:priv-lvl=15" in out, out
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert b"aaa stopped" in rest
    events = [orjson.loads(x) for x in audit.read_text().splitlines()]
    assert [(e["action"], e["outcome"], e["subject"]) for e in events] == [
        ("authn", "success", "breakglass")
    ]
    assert BREAKGLASS_PASSWORD not in audit.read_text()


async def test_cli_requires_config() -> None:
    rc, out = await run(sys.executable, "-c", "from authgate.cli.aaa import app; app()")
    assert rc == 1
    assert "config.invalid" in out
