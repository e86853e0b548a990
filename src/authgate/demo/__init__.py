"""The ``authgate demo`` stack: a sample upstream API, copy-paste helpers and the runner.

Everything here is DEV-ONLY: it serves on loopback, uses the dev IdP's public demo secrets and a
generated bootstrap token, and exists so the README's first command shows the gateway at work.
"""
