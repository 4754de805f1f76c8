"""Avatar Demo: the Gradio app (`python app.py [--share] [--mcp]`; on Hugging Face Spaces this file is the entry point)."""

import sys

from avatar_demo.ui import build_demo, main

if __name__ == "__main__":
    sys.exit(main())

# For `gradio app.py` (reload mode) and anything else that imports the app.
demo = build_demo()
