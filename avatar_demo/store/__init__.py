"""Persistence: the data dir and what lives in it.

It owns the one database of shared facts, SQLite or Postgres (database, schema): the run history
(history), each gateway account's line (accounts), the allowance ledger (ledger) and the replicas'
heartbeats (replicas); the app's own secrets and signed browser ids (keys); kept inputs (inputs), exports
(export) and the folders, names and retention of stored files (storage). It may import only `core`;
nothing here knows about gateways, HTTP or Gradio.
"""
