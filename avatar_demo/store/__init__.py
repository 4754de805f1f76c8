"""Persistence: the data dir and what lives in it.

It owns the SQLite run history (history), the writes that must never be lost (journal), the
allowance ledger (ledger), the app's own secrets and signed browser ids (keys), and the folders,
names and retention of stored files (storage). It may import only `core`; nothing here knows about
gateways, HTTP or Gradio.
"""
