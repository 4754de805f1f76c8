"""Words for people, kept as a catalog key and its values, and rendered in their language at the edge.

A Text is also the English string it renders to, so logs, the command line, API callers and tests
read plain English, while the page renders the same Text in the visitor's language. Values are put
into the catalog's templates by name (never glued on), so each language orders them its own way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .locales import CATALOGS, DEFAULT_LANGUAGE

__all__ = ["LANGUAGES", "Text", "dumps", "render", "text_from_data", "text_to_data"]

#: The languages the page speaks, the first the fallback.
LANGUAGES = tuple(CATALOGS)
#: The key of a Text that holds words we did not write (a gateway's own message): shown as they are.
_VERBATIM = ""


def _template(key: str, language: str) -> str:
    table = CATALOGS.get(language) or CATALOGS[DEFAULT_LANGUAGE]
    found = table.get(key)
    if found is None:
        found = CATALOGS[DEFAULT_LANGUAGE].get(key)
    # A key nobody wrote down is shown as the key: visible in review, never a crash in front of a person.
    return key if found is None else found


def render(value: Any, language: str = DEFAULT_LANGUAGE) -> str:
    """*value* in *language*: a Text through its catalog, a list of them joined, anything else as its own text."""
    if isinstance(value, Text):
        return value.render(language)
    if isinstance(value, (list, tuple)):
        return _template("list.separator", language).join(render(item, language) for item in value)
    return "" if value is None else str(value)


class Text(str):
    """A catalog key and its values; as a str it is the English rendering."""

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, /, **params: Any) -> Text:
        english = _format(key, params, DEFAULT_LANGUAGE)
        made = super().__new__(cls, english)
        made.key = key
        made.params = params
        return made

    @classmethod
    def verbatim(cls, words: str) -> Text:
        """Words we did not write (a gateway's, a file's), shown as they are in every language."""
        return words if isinstance(words, Text) else cls(_VERBATIM, words=str(words))

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        """This text in *language* (English where that language has no words for it)."""
        return _format(self.key, self.params, language)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.key, self.params))

    def __repr__(self) -> str:
        return f"Text({self.key!r}, {self.params!r})"


def _rebuild(key: str, params: dict[str, Any]) -> Text:
    return Text(key, **params)


def _format(key: str, params: Mapping[str, Any], language: str) -> str:
    if key == _VERBATIM:
        return str(params.get("words", ""))
    values = {name: value if isinstance(value, (int, float)) and not isinstance(value, bool) else render(value, language)
              for name, value in params.items()}
    try:
        return _template(key, language).format_map(values)
    except (KeyError, ValueError, IndexError):
        return _template(key, DEFAULT_LANGUAGE) if language != DEFAULT_LANGUAGE else key


def text_to_data(value: Any) -> Any:
    """A Text (or a list of them) as JSON-ready data that text_from_data() turns back into the same Text."""
    if isinstance(value, Text):
        return {"k": value.key, "p": {name: text_to_data(v) for name, v in value.params.items()}}
    if isinstance(value, (list, tuple)):
        return [text_to_data(v) for v in value]
    return value


def text_from_data(data: Any) -> Any:
    """What text_to_data() made, back as Text; a plain string (written by an earlier version) stays as it is."""
    if isinstance(data, dict) and set(data) == {"k", "p"}:
        return Text(data["k"], **{name: text_from_data(v) for name, v in data["p"].items()})
    if isinstance(data, list):
        return [text_from_data(v) for v in data]
    return data


def dumps(value: Any) -> str:
    """JSON of a Text or a list of them, for a database column."""
    return json.dumps(text_to_data(value), ensure_ascii=False)
