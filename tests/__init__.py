"""authgate test suite (a regular package so `tests.support` never resolves to a third-party `tests`)."""
