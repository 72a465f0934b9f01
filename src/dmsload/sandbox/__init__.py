"""The sandbox: an in-memory, schema-driven DMS-compatible HTTP server for tests and demos.

This package's `__init__` imports nothing heavy: `dmsload.sandbox.command` must import without
the optional `dmsload[sandbox]` extra. Import submodules directly (`dmsload.sandbox.testing`).
"""
