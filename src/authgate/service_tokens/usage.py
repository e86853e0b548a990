"""Last-used tracking without a database write per request: noted in memory, written in batches.

Why: a write per authentication would turn every read into a write and serialise SQLite. Times
are kept per token (newest wins) and flushed every ``interval`` seconds and on close, so the
column is at most one interval stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError

from authgate.service_tokens.store import TokenStore

__all__ = ["LastUsedBatcher"]

_log = logging.getLogger("authgate.service_tokens.usage")


class LastUsedBatcher:
    """Collects ``token_id → last used`` in memory; ``flush()`` writes them in one transaction."""

    def __init__(self, store: TokenStore, *, interval: float = 30.0) -> None:
        self.store = store
        self.interval = interval
        self._pending: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def note(self, token_id: str, when: float) -> None:
        self._pending[token_id] = when  # later calls carry later times: plain overwrite

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        batch, self._pending = self._pending, {}
        try:
            await self.store.touch(batch)
        except SQLAlchemyError as exc:  # keep serving; retry the newest times next round
            _log.warning("last-used flush failed (%d tokens): %s", len(batch), exc)
            for token_id, when in batch.items():
                self._pending.setdefault(token_id, when)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
