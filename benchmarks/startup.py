"""Start-up: `python app.py` to its first HTTP 200, against a hello-world Blocks app with the same components.

Both run as fresh processes on the offline default (no key, no network), alternating, ROUNDS times
each; the medians and their ratio are printed (target ≤ 1.15). With --mcp the app also serves MCP.

    python benchmarks/startup.py [--rounds 7] [--mcp]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_demo.web.serving import free_port  # noqa: E402

#: The app's input and output components, and nothing else: what any Gradio app of this shape pays.
HELLO_WORLD = """
import gradio as gr

def echo(image, audio, prompt, mode, provider, start, length):
    return "ok", "", None

with gr.Blocks() as demo:
    image = gr.Image(type="filepath")
    audio = gr.Audio(type="filepath")
    prompt = gr.Textbox()
    mode = gr.Radio(["std", "pro"])
    provider = gr.Dropdown(["local"])
    start = gr.Number()
    length = gr.Slider(2, 60)
    status = gr.Markdown()
    changes = gr.Markdown()
    video = gr.Video()
    gr.Button().click(echo, [image, audio, prompt, mode, provider, start, length], [status, changes, video])

demo.launch()
"""


def first_200(command: list[str], env: dict[str, str], port: int) -> float:
    """Seconds from starting *command* until GET / answers 200."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=1.0) as client:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"{command} exited with {process.returncode}")
                try:
                    if client.get(f"http://127.0.0.1:{port}/").status_code == 200:
                        return time.perf_counter() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--mcp", action="store_true", help="start the app with --mcp")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    hello = work / "hello.py"
    hello.write_text(HELLO_WORLD)
    app = [sys.executable, "app.py", *(["--mcp"] if args.mcp else [])]
    times: dict[str, list[float]] = {"hello-world Blocks": [], "python app.py" + (" --mcp" if args.mcp else ""): []}
    base_env = {k: v for k, v in os.environ.items() if not k.endswith(("_KEY", "_API_KEY", "_SECRET_KEY"))}
    for round_ in range(args.rounds + 1):
        for name, command in zip(times, ([sys.executable, str(hello)], app)):
            port = free_port()
            env = {**base_env, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
                   "AVATAR_DATA_DIR": str(work / f"data-{round_}")}
            seconds = first_200(command, env, port)
            if round_:  # the first round warms the disk cache for both
                times[name].append(seconds)
    (base, ours) = (statistics.median(t) for t in times.values())
    for name, samples in times.items():
        print(f"{name:>24}: median {statistics.median(samples):.2f} s  (min {min(samples):.2f}, max {max(samples):.2f},"
              f" {len(samples)} rounds)")
    print(f"ratio app / hello-world: {ours / base:.2f} (target ≤ 1.15)")


if __name__ == "__main__":
    main()
