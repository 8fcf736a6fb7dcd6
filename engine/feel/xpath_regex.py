"""XML Schema / XPath regular expressions (what FEEL's ``matches``, ``replace`` and ``split``
take) translated to Python's ``re``.

The differences handled: flags are ``s m i x q`` only; ``.`` matches neither ``\\n`` nor
``\\r`` without ``s``; ``x`` drops whitespace outside character classes; ``q`` makes the
pattern literal; class subtraction ``[A-Z-[OI]]``; ``\\p{IsBasicLatin}`` style blocks;
back-references must name an earlier group and may not appear in a class; replacements
use ``$n`` and ``\\$``. Compiled patterns are cached.

Patterns run on the ``regex`` module rather than ``re`` because its matching takes a
timeout: a pattern that backtracks without end (``(a+)+$``) would otherwise hold a thread
for ever, beyond any evaluation budget. Callers pass the time left in theirs.
"""

from __future__ import annotations

from functools import lru_cache

import regex as re

MAX_PATTERN = 10_000
_BLOCKS = {
    "IsBasicLatin": "\\x00-\\x7F", "IsLatin-1Supplement": "\\x80-\\xFF",
    "IsGreek": "\\u0370-\\u03FF", "IsCyrillic": "\\u0400-\\u04FF",
}
_CATEGORIES = {"L": "[^\\W\\d_]", "N": "\\d", "Nd": "\\d", "P": "[!-/:-@\\[-`{-~]"}


def compile_pattern(pattern: str, flags: str) -> re.Pattern[str]:
    """Compile an XPath pattern with XPath flags; raises ValueError or re.error if invalid."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"pattern longer than {MAX_PATTERN} characters")
    return _compile(pattern, flags)


@lru_cache(maxsize=512)
def _compile(pattern: str, flags: str) -> re.Pattern[str]:
    bad = set(flags) - set("smixq")
    if bad:
        raise ValueError(f"unknown regular expression flag {sorted(bad)[0]!r}")
    bits = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0)
    if "q" in flags:
        return re.compile(re.escape(pattern), bits)
    if "x" in flags:
        pattern = _strip_whitespace(pattern)
    return re.compile(_translate(pattern, dot_all="s" in flags), bits)


def _strip_whitespace(pattern: str) -> str:
    """The ``x`` flag: whitespace goes (even after a backslash), except inside a class."""
    out, depth, i = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] not in " \t\n\r":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        if not (ch in " \t\n\r" and depth == 0):
            out.append(ch)
        i += 1
    return "".join(out)


def _translate(pattern: str, dot_all: bool) -> str:
    out: list[str] = []
    groups, i = 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            token, i = _escape(pattern, i, groups, in_class=False)
            out.append(token)
            continue
        if ch == "[":
            token, i = _char_class(pattern, i, groups)
            out.append(token)
            continue
        if ch == "(":
            if not pattern.startswith("(?", i):
                groups += 1
            elif not pattern.startswith("(?:", i):
                raise ValueError("only (?: ...) groups are allowed")
        if ch == ".":
            out.append("(?s:.)" if dot_all else "[^\\n\\r]")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int, groups: int, in_class: bool) -> tuple[str, int]:
    if i + 1 >= len(pattern):
        raise ValueError("pattern ends with a backslash")
    nxt = pattern[i + 1]
    if nxt.isdigit():
        if in_class or nxt == "0":
            raise ValueError("back-reference inside a character class or \\0")
        j = i + 1
        while j < len(pattern) and pattern[j].isdigit() and int(pattern[i + 1:j + 1]) <= groups:
            j += 1
        number = pattern[i + 1:j]
        if not number or int(number) > groups:
            raise ValueError(f"back-reference \\{nxt} to a group not yet defined")
        return f"(?:\\{number})", j
    if nxt in "pP" and pattern[i + 2:i + 3] == "{":
        end = pattern.index("}", i)
        name = pattern[i + 3:end]
        if name in _BLOCKS:
            body = _BLOCKS[name]
            token = (f"[^{body}]" if nxt == "P" else f"[{body}]") if not in_class else body
        elif name in _CATEGORIES and nxt == "p" and not in_class:
            token = _CATEGORIES[name]
        else:
            raise ValueError(f"unsupported property \\{nxt}{{{name}}}")
        return token, end + 1
    return pattern[i:i + 2], i + 2


def _char_class(pattern: str, i: int, groups: int) -> tuple[str, int]:
    """``[...]`` at ``i``, with XPath's ``-[...]`` subtraction, as Python regex text."""
    j = i + 1
    body: list[str] = []
    if pattern[j:j + 1] == "^":
        body.append("^")
        j += 1
    if pattern[j:j + 1] == "]":
        body.append("\\]")
        j += 1
    while j < len(pattern):
        ch = pattern[j]
        if ch == "\\":
            token, j = _escape(pattern, j, groups, in_class=True)
            body.append(token)
            continue
        if ch == "-" and pattern[j + 1:j + 2] == "[":
            subtracted, j = _char_class(pattern, j + 1, groups)
            if pattern[j:j + 1] != "]":
                raise ValueError("a class subtraction must end the class")
            return f"(?:(?!{subtracted})[{''.join(body)}])", j + 1
        if ch == "]":
            return f"[{''.join(body)}]", j + 1
        if ch == "[":
            body.append("\\[")
        else:
            body.append(ch)
        j += 1
    raise ValueError("unterminated character class")


def expand_replacement(replacement: str, groups: int) -> str:
    """An XPath replacement (``$1``, ``\\$``, ``\\\\``) as a Python ``re.sub`` template."""
    out, i = [], 0
    while i < len(replacement):
        ch = replacement[i]
        if ch == "\\":
            if replacement[i + 1:i + 2] not in ("\\", "$"):
                raise ValueError("a backslash in a replacement must escape '\\' or '$'")
            out.append("\\\\" if replacement[i + 1] == "\\" else "$")
            i += 2
        elif ch == "$":
            j = i + 1
            while j < len(replacement) and replacement[j].isdigit():
                j += 1
            if j == i + 1:
                raise ValueError("'$' in a replacement must be followed by a group number")
            number = int(replacement[i + 1:j])
            out.append(f"\\g<{number}>" if number <= groups else "")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)
