"""The public API is exactly ``authgate.__all__``: sorted, complete, importable."""

from __future__ import annotations

import authgate


def test_all_is_sorted_and_unique() -> None:
    assert authgate.__all__ == sorted(authgate.__all__)
    assert len(set(authgate.__all__)) == len(authgate.__all__)


def test_every_exported_name_exists_and_public_names_are_exported() -> None:
    for name in authgate.__all__:
        assert hasattr(authgate, name), name
    public = {
        n
        for n, v in vars(authgate).items()
        if not n.startswith("_") and getattr(v, "__module__", "").startswith("authgate")
    }
    assert public <= set(authgate.__all__), sorted(public - set(authgate.__all__))


def test_version() -> None:
    assert authgate.__version__.count(".") == 2
