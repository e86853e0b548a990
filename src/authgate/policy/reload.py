"""Policy reload without dropping requests: an atomic holder, SIGHUP and a file watch.

Why a holder: each request reads ``holder.current`` once and uses that snapshot for its whole
life, so a reload — one attribute assignment, atomic in CPython — never changes the rules under
an in-flight request and needs no lock on the hot path. An invalid new file is rejected with
its line and reason (logged, counted, kept in :attr:`PolicyHolder.last_error`) and the old
policy stays. Reload triggers: ``SIGHUP`` (as nginx does) and changes to the file, watched with
``watchfiles`` on its directory so editors and ``mv``-into-place (a new inode) are both seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from pathlib import Path

from authgate.policy.rules import Policy, PolicyError, load_policy

__all__ = ["PolicyHolder", "PolicyWatcher"]

_log = logging.getLogger("authgate.policy")


class PolicyHolder:
    """The current policy, swapped atomically by :meth:`reload`."""

    def __init__(self, policy: Policy, path: Path | None = None) -> None:
        self.current = policy
        self.path = path
        self.generation = 1
        self.failures = 0
        self.last_error: PolicyError | None = None
        self._lock = threading.Lock()  # serialises reloads (SIGHUP and watch may coincide)

    @classmethod
    def from_file(cls, path: str | Path) -> PolicyHolder:
        """Load ``path`` (raising PolicyError when it is invalid: nothing to fall back on)."""
        file = Path(path)
        return cls(load_policy(file), file)

    def reload(self) -> PolicyError | None:
        """Re-read the file; swap on success, keep the old policy and return the error if not."""
        if self.path is None:
            return None
        with self._lock:
            try:
                policy = load_policy(self.path)
            except PolicyError as error:
                self.failures += 1
                self.last_error = error
                _log.error("policy reload rejected, keeping the current policy: %s", error)
                return error
            self.current = policy
            self.generation += 1
            self.last_error = None
        _log.info(
            "policy reloaded from %s: %d rules (generation %d)",
            self.path,
            len(policy.rules),
            self.generation,
        )
        return None


class PolicyWatcher:
    """Reloads a :class:`PolicyHolder` on SIGHUP and when its file changes."""

    def __init__(
        self, holder: PolicyHolder, *, debounce_ms: int = 200, force_polling: bool = False
    ) -> None:
        if holder.path is None:
            raise ValueError("a PolicyWatcher needs a holder loaded from a file")
        self.holder = holder
        self.debounce_ms = debounce_ms
        self.force_polling = force_polling
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._signal = False

    async def start(self, *, sighup: bool = True, watch: bool = True) -> None:
        """Install the SIGHUP handler (main thread only) and, if ``watch``, the file watch."""
        loop = asyncio.get_running_loop()
        if sighup and threading.current_thread() is threading.main_thread():
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGHUP, self.holder.reload)
                self._signal = True
        if not watch:
            return
        ready = asyncio.Event()
        self._task = loop.create_task(self._watch(ready))
        await ready.wait()

    async def _watch(self, ready: asyncio.Event) -> None:
        from watchfiles import awatch  # lazily: only a served gateway with a file needs it

        path = self.holder.path
        assert path is not None
        target = path.resolve()
        ready.set()
        try:
            async for _ in awatch(
                target.parent,
                stop_event=self._stop,
                debounce=self.debounce_ms,
                step=20,
                force_polling=self.force_polling,
                poll_delay_ms=50,
                watch_filter=lambda _change, name: Path(name).name == target.name,
            ):
                self.holder.reload()
        except Exception:  # noqa: BLE001 - a broken watch must not take the gateway down
            _log.exception("policy file watch stopped; SIGHUP still reloads")

    async def stop(self) -> None:
        self._stop.set()
        if self._signal:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
