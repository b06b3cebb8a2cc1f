"""Bicep: `resource SYMBOL 'Microsoft.Batch/batchAccounts/pools@...' = { ... autoScale: { formula: ... } }`.

No Bicep parser exists for Python (the language's own is a .NET program), so a small scanner here
reads what locating a formula needs: comments, the two string forms, identifiers and brackets.
Strings follow the Bicep data-types reference (learn.microsoft.com/azure/azure-resource-manager/
bicep/data-types#strings): single-quoted with the escapes `\\\\ \\' \\n \\r \\t \\$ \\u{hex}` and `${...}`
interpolation; `'''` multi-line strings verbatim, without escapes or interpolation, a line break
right after the opening `'''` not part of the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from batchsim.hosts.embedded import Builder, EmbeddedFormula, HostProblem, closing_brace

__all__ = ["MARKER", "find_formulas"]

# Only files that mention autoScale are scanned (compared case-insensitively).
MARKER = "autoscale"
_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}
_WORD = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "string", "multiline", or the punctuation character itself
    start: int
    end: int


def _tokens(host: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, size = 0, len(host)
    while i < size:
        char = host[i]
        if host.startswith("//", i):
            newline = host.find("\n", i)
            i = size if newline < 0 else newline
        elif host.startswith("/*", i):
            close = host.find("*/", i + 2)
            if close < 0:
                raise HostProblem("unterminated comment", i)
            i = close + 2
        elif host.startswith("'''", i):
            close = host.find("'''", i + 3)
            if close < 0:
                raise HostProblem("unterminated ''' string", i)
            tokens.append(_Token("multiline", i, close + 3))
            i = close + 3
        elif char == "'":
            j = i + 1
            while j < size and host[j] != "'":
                if host[j] == "\\":
                    j += 2
                elif host.startswith("${", j):
                    j = closing_brace(host, j + 1, size)
                else:
                    j += 1
            if j >= size:
                raise HostProblem("unterminated string", i)
            tokens.append(_Token("string", i, j + 1))
            i = j + 1
        elif (word := _WORD.match(host, i)) is not None:
            tokens.append(_Token("word", i, word.end()))
            i = word.end()
        else:
            if char in "{}[]():=":
                tokens.append(_Token(char, i, i + 1))
            i += 1
    return tokens


def find_formulas(host: str, variables: Mapping[str, str]) -> list[EmbeddedFormula]:
    """Every `formula:` string directly inside an `autoScale:` object of a resource."""
    tokens = _tokens(host)
    found: list[EmbeddedFormula] = []
    # One frame per open bracket: the object key it is the value of, and the resource it opens.
    frames: list[tuple[str | None, str | None]] = []
    pending_resource: str | None = None
    for n, token in enumerate(tokens):
        text = host[token.start : token.end]
        previous = tokens[n - 1] if n else None
        if token.kind == "word" and text == "resource" and n + 1 < len(tokens) and tokens[n + 1].kind == "word":
            pending_resource = host[tokens[n + 1].start : tokens[n + 1].end]
        elif token.kind in "{[(":
            key = None
            if previous is not None and previous.kind == ":" and n >= 2:
                key = host[tokens[n - 2].start : tokens[n - 2].end].strip("'")
            opened = pending_resource if token.kind == "{" else None
            if opened is not None:
                pending_resource = None
            frames.append((key, opened))
        elif token.kind in "}])":
            if frames:
                frames.pop()
        elif (
            token.kind in ("string", "multiline")
            and previous is not None
            and previous.kind == ":"
            and n >= 2
            and host[tokens[n - 2].start : tokens[n - 2].end].strip("'") == "formula"
            and frames
            and (frames[-1][0] or "").lower() == "autoscale"
        ):
            resource = next((r for _, r in reversed(frames) if r is not None), "formula")
            builder = Builder(variables)
            end = _decode(host, token, builder)
            found.append(builder.build(resource, end))
    return found


def _decode(host: str, token: _Token, builder: Builder) -> int:
    if token.kind == "multiline":
        start, end = token.start + 3, token.end - 3
        opening_break = re.match(r"\r?\n", host[start:end])
        if opening_break:
            start += opening_break.end()
        builder.literal(host, start, end)
        return end
    i, end = token.start + 1, token.end - 1
    while i < end:
        if host[i] == "\\":
            kind = host[i + 1 : i + 2]
            if kind in _ESCAPES:
                builder.decoded(_ESCAPES[kind], i, i + 2)
                i += 2
                continue
            code = re.match(r"u\{([0-9A-Fa-f]{1,6})\}", host[i + 1 : end])
            if code is None:
                raise HostProblem(f"invalid escape sequence '\\{kind}' in a string", i)
            builder.decoded(chr(int(code.group(1), 16)), i, i + 1 + code.end())
            i += 1 + code.end()
        elif host.startswith("${", i):
            after = closing_brace(host, i + 1, end)
            builder.interpolation(host[i + 2 : after - 1], i, after)
            i = after
        else:
            builder.literal(host, i, i + 1)
            i += 1
    return end
