"""Telegram's HTML parse mode, as strictly as the Bot API applies it.

Returns the plain text (entities resolved) or raises HtmlError with a Telegram-like message.
Rules from https://core.telegram.org/bots/api#html-style: only the listed tags, properly
nested; only &lt; &gt; &amp; &quot; and numeric entities; <a> needs href; <span> only with
class="tg-spoiler"; nothing inside <code>/<pre> but <code> in <pre>; no nested blockquotes.
"""

from __future__ import annotations

import re

ALLOWED = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_TAG = re.compile(
    r"<(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>(?:\s+[a-zA-Z-]+"
    r"(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_ENTITY = re.compile(r"&(#\d{1,7};|#[xX][0-9a-fA-F]{1,6};|lt;|gt;|amp;|quot;)")
_NAMED = {"lt;": "<", "gt;": ">", "amp;": "&", "quot;": '"'}


class HtmlError(ValueError):
    """The text would be refused: "Bad Request: can't parse entities: ..."."""


def parse_html(markup: str) -> str:
    """The text Telegram would show for `markup`, or HtmlError."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(markup):
        char = markup[i]
        if char == "<":
            match = _TAG.match(markup, i)
            if match is None:
                raise HtmlError(f"Unsupported start tag at byte offset {_offset(markup, i)}")
            _tag(match, stack, markup, i)
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(markup, i)
            if match is None:
                raise HtmlError(f"Unsupported HTML entity at byte offset {_offset(markup, i)}")
            out.append(_decode(match.group(1)))
            i = match.end()
        elif char == ">":
            out.append(char)  # Telegram accepts a bare ">"
            i += 1
        else:
            out.append(char)
            i += 1
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _tag(match: re.Match[str], stack: list[str], markup: str, at: int) -> None:
    name = match.group("name").lower()
    if name not in ALLOWED:
        raise HtmlError(f'Unsupported start tag "{name}" at byte offset {_offset(markup, at)}')
    if match.group("close"):
        if not stack or stack[-1] != name:
            raise HtmlError(
                f"Unmatched end tag at byte offset {_offset(markup, at)}, "
                f'expected "</{stack[-1] if stack else ""}>", found "</{name}>"'
            )
        stack.pop()
        return
    if stack and stack[-1] in ("code", "pre") and not (stack[-1] == "pre" and name == "code"):
        raise HtmlError(f'Tag "{name}" can\'t be inside "{stack[-1]}"')
    if name == "blockquote" and "blockquote" in stack:
        raise HtmlError("Blockquotes can't be nested")
    attrs = {k.lower(): (v or "").strip("\"'") for k, v in _ATTR.findall(match.group("attrs"))}
    if name == "a" and not attrs.get("href"):
        raise HtmlError("Can't find a URL in the <a> tag")
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlError('Tag "span" must have class "tg-spoiler"')
    stack.append(name)


def _decode(entity: str) -> str:
    if entity in _NAMED:
        return _NAMED[entity]
    number = int(entity[2:-1], 16) if entity[1] in "xX" else int(entity[1:-1])
    if not 0 < number <= 0x10FFFF:
        raise HtmlError("Invalid numeric HTML entity")
    return chr(number)


def _offset(markup: str, index: int) -> int:
    return len(markup[:index].encode("utf-8"))


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
