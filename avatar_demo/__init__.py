"""Avatar Demo: a portrait photo and a voice clip in, a Kling Avatar talking video out."""

__version__ = "0.1.0"
