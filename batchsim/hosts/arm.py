"""ARM templates and Batch REST/CLI pool bodies (JSON): `autoScaleFormula`, `autoScale.formula`.

The keys: the Batch REST pool body's `autoScaleFormula` (learn.microsoft.com/rest/api/batchservice/
pool/add), and `formula` inside an `autoScale` object, as in the management API's and ARM's
`properties.scaleSettings.autoScale.formula` (learn.microsoft.com/azure/templates/microsoft.batch/
batchaccounts/pools). Python's `json` gives values, not positions, so the walk here tracks where
each value starts and lets the standard library's `json` decode every
string; a formula string is then decoded again here with each escape's host range, and the
two decodings must agree. ARM templates may hold `//` and `/* */` comments: skipped as blanks.
An ARM expression (`"[parameters('formula')]"`) is computed at deployment: not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace

from batchsim.hosts.embedded import Builder, EmbeddedFormula, HostProblem

__all__ = ["MARKER", "find_formulas"]

# Only files that mention autoScale (autoScaleFormula, autoScale.formula) are parsed: a directory holds
# package.json, tsconfig.json and the like, which may not even be JSON.
MARKER = "autoscale"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_BLANK = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)
_SCALAR = json.JSONDecoder()
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')


class _Walk:
    def __init__(self, host: str, variables: Mapping[str, str]) -> None:
        self.host = host
        self.variables = variables
        self.found: list[EmbeddedFormula] = []
        # Formulas whose resource is not known yet: the enclosing object's name or id may come
        # after the formula in the text, so each object names its unnamed formulas once it is read.
        self.unnamed: list[int] = []

    def blank(self, i: int) -> int:
        match = _BLANK.match(self.host, i)
        return match.end() if match else i

    def value(self, i: int, path: tuple[str, ...]) -> int:
        """Walk the value at `i`; the offset after it."""
        i = self.blank(i)
        char = self.host[i : i + 1]
        if char == "{":
            return self.object(i, path)
        if char == "[":
            i = self.blank(i + 1)
            index = 0
            while self.host[i : i + 1] != "]":
                i = self.blank(self.value(i, (*path, str(index))))
                index += 1
                if self.host[i : i + 1] == ",":
                    i = self.blank(i + 1)
                    if self.host[i : i + 1] == "]":
                        raise HostProblem("not valid JSON: a ',' before ']'", i)
                elif self.host[i : i + 1] != "]":
                    raise HostProblem("not valid JSON: expected ',' or ']'", i)
            return i + 1
        if char == '"':
            return self.string(i)[1]
        try:
            return _SCALAR.raw_decode(self.host, i)[1]
        except json.JSONDecodeError as exc:
            raise HostProblem(f"not valid JSON: {exc.msg}", exc.pos) from None

    def string(self, i: int) -> tuple[str, int]:
        """The string at `i` as `json` decodes it, and the offset after its closing quote."""
        match = _STRING.match(self.host, i)
        if match is None:
            raise HostProblem("not valid JSON: unterminated string or a control character in it", i)
        try:
            return str(json.loads(match.group())), match.end()
        except json.JSONDecodeError as exc:
            raise HostProblem(f"not valid JSON: {exc.msg}", i + exc.pos) from None

    def object(self, i: int, path: tuple[str, ...]) -> int:
        first_found = len(self.found)
        members: list[tuple[str, int, int]] = []  # key, value start, value end
        i = self.blank(i + 1)
        while self.host[i : i + 1] != "}":
            if self.host[i : i + 1] != '"':
                raise HostProblem("not valid JSON: expected a key in double quotes", i)
            key, i = self.string(i)
            i = self.blank(i)
            if self.host[i : i + 1] != ":":
                raise HostProblem("not valid JSON: expected ':'", i)
            start = self.blank(i + 1)
            i = self.blank(self.value(start, (*path, key)))
            members.append((key, start, i))
            if self.host[i : i + 1] == ",":
                i = self.blank(i + 1)
                if self.host[i : i + 1] == "}":
                    raise HostProblem("not valid JSON: a ',' before '}'", i)
            elif self.host[i : i + 1] != "}":
                raise HostProblem("not valid JSON: expected ',' or '}'", i)
        for key, start, _ in members:
            wanted = key == "autoScaleFormula" or (key == "formula" and path[-1:] == ("autoScale",))
            if wanted and self._quoted(start):
                self.formula(start, "/".join((*path, key)))
        own = [self.string(start)[0] for key, start, _ in members if key in ("name", "id") and self._quoted(start)]
        if own:
            for n in [n for n in self.unnamed if n >= first_found]:
                self.found[n] = replace(self.found[n], resource=own[0])
                self.unnamed.remove(n)
        return i + 1

    def _quoted(self, start: int) -> bool:
        return self.host[start : start + 1] == '"'

    def formula(self, start: int, resource: str) -> None:
        value, end = self.string(start)
        if value.startswith("[") and not value.startswith("[[") and value.endswith("]"):
            return  # an ARM template expression, evaluated at deployment
        builder = Builder(self.variables)
        i, stop = start + 1, end - 1
        if value.startswith("[["):
            i += 1  # `[[` is ARM's escape for a string that starts with `[`
        while i < stop:
            if self.host[i] != "\\":
                builder.literal(self.host, i, i + 1)
                i += 1
                continue
            kind = self.host[i + 1]
            if kind == "u":
                code = int(self.host[i + 2 : i + 6], 16)
                low = self.host[i + 6 : i + 12]
                if 0xD800 <= code < 0xDC00 and re.fullmatch(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", low):
                    pair = chr(0x10000 + ((code - 0xD800) << 10) + (int(low[2:], 16) - 0xDC00))
                    builder.decoded(pair, i, i + 12)
                    i += 12
                else:
                    builder.decoded(chr(code), i, i + 6)
                    i += 6
            else:
                builder.decoded(_ESCAPES[kind], i, i + 2)
                i += 2
        formula = builder.build(resource, stop)
        expected = value[1:] if value.startswith("[[") else value
        if formula.text != expected:  # the two decodings disagree: a defect here, never silently wrong
            raise HostProblem("cannot map the formula's positions through its escapes", start)
        self.unnamed.append(len(self.found))
        self.found.append(formula)


def find_formulas(host: str, variables: Mapping[str, str]) -> list[EmbeddedFormula]:
    """Every `autoScaleFormula` and `autoScale.formula` string of a JSON file (comments allowed)."""
    walk = _Walk(host, variables)
    start = walk.blank(0)
    if host[start : start + 1] not in ("{", "["):
        return []
    end = walk.blank(walk.value(start, ()))
    if end != len(host):
        raise HostProblem("not valid JSON: extra data after the document", end)
    return walk.found
