"""Avatar Demo: the Gradio app (`python app.py`; on Hugging Face Spaces this file is the entry point)."""

from avatar_demo.ui import build_demo, launch_options

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_options(demo))
