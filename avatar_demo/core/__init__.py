"""The core: the one exception tree (errors) and our own status words (status).

Every other package imports from here, and core imports nothing of the app's own: these are the
words all layers share, so they sit at the bottom.
"""
