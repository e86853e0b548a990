"""The documentation site builds with ``mkdocs build --strict``, offline, without warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_build_strict_and_offline(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = dict(os.environ)
    # Any download attempt would go through this dead proxy and fail the build.
    dead = "http://127.0.0.1:9"
    env.update(HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead)
    env["NO_MKDOCS_2_WARNING"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in index  # theme.font: false
    for page in ("operations", "client", "service-tokens", "gateway", "migration/aspnet"):
        assert (site / page / "index.html").is_file(), page
    reference = (site / "reference" / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "AUTHGATE_OKTA_CLIENT_ID" in reference
