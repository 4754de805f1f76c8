"""What the browser tests share: Debian's Chromium, the words a Chinese page may keep in Latin letters, and
questions asked of the page in its own JavaScript."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("AVATAR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
#: Screenshots the browser tests leave for people to look at (not compared by any test).
SHOTS = Path(__file__).resolve().parents[2] / "test-output"

#: Words a Chinese page may still show in Latin letters: names, codes, units and what the visitor typed.
LATIN_ALLOWED = {
    "avatar", "demo", "kling", "cometapi", "kkiai", "modellix", "crun", "fal", "api", "jwt", "std", "pro", "jpg",
    "png", "heic", "webp", "utc", "mp4", "http", "https", "hugging", "face", "space", "gradio", "access_key",
    "secret_key", "key", "bucket", "data", "owner", "name", "deploy", "python", "volume", "avatar_demo", "oversea_male",
    "genshin_vindi", "genshin_klee", "genshin_kirara", "chinese_female", "rgb", "srgb", "lufs", "dbtp", "wav", "mp3",
    "local", "preview", "px", "zip",
}


def require_chromium() -> str:
    """The Chromium to drive, or a skip (a failure when AVATAR_REQUIRE_BROWSER=1 says it must be there)."""
    if CHROMIUM is None:
        if os.environ.get("AVATAR_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (AVATAR_REQUIRE_BROWSER=1) but was not found; install the `chromium` package")
        pytest.skip("Chromium is not installed (bash scripts/test installs it)")
    return CHROMIUM


def english_left(text: str, typed: set[str] = frozenset()) -> list[str]:
    """English words in *text* that a Chinese page should not show."""
    words = re.findall(r"[A-Za-z][A-Za-z_]{2,}", text)
    return sorted({w for w in words if w.lower().rstrip("s") not in LATIN_ALLOWED and w.lower() not in LATIN_ALLOWED
                   and w not in typed})


#: What is showing of Gradio's own error signs: its "Error" pill over an output, and its notices.
GRADIO_ERRORS = """() => {
  const shown = el => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') return false;
    for (let up = el; up; up = up.parentElement) if (getComputedStyle(up).opacity === '0') return false;
    return true;
  };
  return {
    pills: [...document.querySelectorAll('[data-testid="status-tracker"] .error')].filter(shown).map(e => e.innerText),
    toasts: [...document.querySelectorAll('[data-testid="toast-body"]')].filter(shown).map(e => e.innerText),
  };
}"""

#: Elements wider than the column (or block) that holds them, and inputs whose words are cut off. Frames that
#: scroll on their own are skipped inside: their content may be wider, the frame is not.
TOO_WIDE = """() => {
  const out = [];
  const root = document.querySelector('.gradio-container');
  if (document.documentElement.scrollWidth > innerWidth + 1)
    out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${innerWidth}`);
  for (const el of root.querySelectorAll('*')) {
    if (el.closest('.frame') && !el.classList.contains('frame')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const holder = el.parentElement && el.parentElement.closest('.column, .block, .form, .row');
    if (holder) {
      const outer = holder.getBoundingClientRect();
      if (box.right > outer.right + 1 || box.left < outer.left - 1)
        out.push(`${el.tagName}#${el.id}.${el.className} ${Math.round(box.left)}–${Math.round(box.right)} ` +
                 `outside ${holder.className.split(' ')[0]} ${Math.round(outer.left)}–${Math.round(outer.right)}`);
    }
    if (el.tagName === 'INPUT' && el.type === 'text' && el.value && el.scrollWidth > el.clientWidth + 1)
      out.push(`input ${el.closest('[id]')?.id} cuts off "${el.value}"`);
  }
  return out;
}"""

#: Whether an element is wholly inside the viewport.
IN_VIEW = """css => {
  const el = document.querySelector(css);
  if (!el) return `${css}: not on the page`;
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth && r.height > 0
    ? true : `${css}: ${Math.round(r.top)}–${Math.round(r.bottom)} of ${innerHeight}`;
}"""
