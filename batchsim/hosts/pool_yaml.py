"""Pool YAML: Batch Shipyard's `pool_specification.autoscale.formula`, batchsim's `pool.autoscale.formula`.

PyYAML composes the file into nodes that keep their start and end marks; the formula scalar is
decoded again here, character by character with its host range, for the styles formulas are
written in: literal blocks (`|`, `|-`, `|+`, with or without an indentation indicator), plain and
quoted one-line scalars (YAML 1.1 escapes in double quotes, `''` in single quotes). The result must
equal PyYAML's own value; where it cannot (a folded `>` block, a quoted scalar over several lines),
every finding is placed at the scalar's first character, never at a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from batchsim.hosts.embedded import Builder, EmbeddedFormula, HostProblem

__all__ = ["MARKER", "find_formulas"]

# Only files that mention autoscale are parsed: a directory holds CI workflows, Helm templates and
# the like, some of them not plain YAML.
MARKER = "autoscale"
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
    "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX = {"x": 2, "u": 4, "U": 8}


def find_formulas(host: str, variables: Mapping[str, str]) -> list[EmbeddedFormula]:
    """Every `formula` scalar directly under an `autoscale` mapping, in every document of the file."""
    import yaml

    try:
        documents = list(yaml.compose_all(host, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise HostProblem(f"not valid YAML: {exc.problem or exc.context}", mark.index if mark else 0) from None
    found = []
    for document in documents:
        for node, resource in _formula_nodes(document, None, ()):
            found.append(_decode(host, node, resource, variables))
    return found


def _scalar(node: Any, key: str) -> str | None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.ScalarNode):
                return str(v.value)
    return None


def _formula_nodes(node: Any, parent_key: str | None, names: tuple[str, ...]) -> Iterator[tuple[Any, str]]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _formula_nodes(item, parent_key, names)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    own = _scalar(node, "id") or _scalar(node, "name")
    names = (*names, own) if own else names
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value == "formula" and (parent_key or "").lower() == "autoscale" and isinstance(value, yaml.ScalarNode):
            yield value, names[-1] if names else "autoscale"
        else:
            yield from _formula_nodes(value, str(key.value), names)


def _decode(host: str, node: Any, resource: str, variables: Mapping[str, str]) -> EmbeddedFormula:
    start, end = node.start_mark.index, node.end_mark.index
    builder = Builder(variables)
    if node.style == "|":
        _literal_block(host, start, end, builder)
    elif node.start_mark.line == node.end_mark.line and node.style in (None, "'", '"'):
        _one_line(host, start, end, node.style, builder)
    text = "".join(builder.chars)
    if text != node.value and text.startswith(node.value):  # chomping (`|`, `|-`) drops final line breaks
        del builder.chars[len(node.value) :], builder.origins[len(node.value) :]
    if "".join(builder.chars) != node.value:
        builder = Builder(variables)
        builder.decoded(node.value, start, start + 1)
    stop = builder.origins[-1][1] if builder.origins else start
    return builder.build(resource, stop)


def _literal_block(host: str, start: int, end: int, builder: Builder) -> None:
    header = re.match(r"\|([1-9])?[-+]?([1-9])?[^\n]*\n", host[start:end])
    if header is None:
        return
    i = start + header.end()
    lines = [(i + m.start(), m.group()) for m in re.finditer(r"[^\n]*\n?", host[i:end]) if m.group()]
    explicit = header.group(1) or header.group(2)
    if explicit:
        # The indicator counts from the indentation of the line holding the key.
        key_line = host.rfind("\n", 0, start) + 1
        indent = len(host[key_line:start]) - len(host[key_line:start].lstrip(" ")) + int(explicit)
    else:
        indent = next((len(line) - len(line.lstrip(" ")) for _, line in lines if line.strip()), 0)
    for offset, line in lines:
        blanks = min(indent, len(line) - len(line.lstrip(" ")))
        builder.literal(host, offset + blanks, offset + len(line))


def _one_line(host: str, start: int, end: int, style: str | None, builder: Builder) -> None:
    if style is None:
        builder.literal(host, start, end)
        return
    i, stop = start + 1, end - 1
    while i < stop:
        if style == "'" and host.startswith("''", i):
            builder.decoded("'", i, i + 2)
            i += 2
        elif style == '"' and host[i] == "\\":
            kind = host[i + 1]
            width = _HEX.get(kind)
            if width:
                builder.decoded(chr(int(host[i + 2 : i + 2 + width], 16)), i, i + 2 + width)
                i += 2 + width
            else:
                builder.decoded(_ESCAPES.get(kind, kind), i, i + 2)
                i += 2
        else:
            builder.literal(host, i, i + 1)
            i += 1
