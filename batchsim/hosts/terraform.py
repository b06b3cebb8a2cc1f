"""Terraform: `resource "azurerm_batch_pool" "NAME" { auto_scale { formula = ... } }`.

python-hcl2 parses the file (its lark grammar keeps every token's position); it locates the
`formula` attribute's string or heredoc token in the host text. The token is then decoded here,
character by character, because python-hcl2 keeps a string's source text (escapes and heredoc
markers undecoded) and no parser says where each character of a value came from:
quoted strings with the HCL escapes (`\\n`, `\\"`, `\\uNNNN`, `\\UNNNNNNNN`), heredocs `<<EOF`
(verbatim) and `<<-EOF` (the smallest indentation of the non-blank lines removed), and in both the
template sequences: `${...}` interpolations, `%{...}` directives, `$${` and `%%{` for the literal
text (HCL native syntax specification, "Template Expressions").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from batchsim.hosts.embedded import Builder, EmbeddedFormula, HostProblem, closing_brace

__all__ = ["MARKER", "find_formulas"]

# A file that names no Batch pool resource is not parsed at all (a directory holds many .tf files).
MARKER = "azurerm_batch_pool"
_POOL_TYPE = "azurerm_batch_pool"
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_HEREDOC = re.compile(r"<<(-?)([A-Za-z][\w.-]*)\r?\n")


def find_formulas(host: str, variables: Mapping[str, str]) -> list[EmbeddedFormula]:
    """Every `auto_scale.formula` written as a string or heredoc in an `azurerm_batch_pool`."""
    from hcl2.api import parses_to_tree
    from lark.exceptions import UnexpectedInput

    try:
        tree = parses_to_tree(host)
    except UnexpectedInput as exc:
        detail = str(exc).splitlines()[0].split(" at line ")[0]  # the position is the diagnostic's own
        raise HostProblem(f"not valid HCL: {detail}", exc.pos_in_stream or 0) from None
    found = []
    for name, value in _pool_formulas(tree):
        builder = Builder(variables)
        end = _decode(host, value, builder)
        found.append(builder.build(f"{_POOL_TYPE}.{name}", end))
    return found


def _children(tree: Any, data: str) -> Iterator[Any]:
    from lark import Tree

    for child in tree.children:
        if isinstance(child, Tree) and child.data == data:
            yield child


def _label(node: Any) -> str:
    from lark import Token

    if isinstance(node, Token):
        return str(node)
    return "".join(str(part.children[0]) for part in node.children if getattr(part, "data", None) == "string_part")


def _block_header(block: Any) -> list[str]:
    """A block's type and labels: `resource "azurerm_batch_pool" "render"` -> three strings."""
    from lark import Tree

    labels = []
    for child in block.children:
        if isinstance(child, Tree) and child.data == "identifier":
            labels.append(_label(child.children[0]))
        elif isinstance(child, Tree) and child.data == "string":
            labels.append(_label(child))
        elif isinstance(child, Tree) and child.data == "body":
            break
    return labels


def _blocks(parent: Any, kind: str) -> Iterator[tuple[list[str], Any]]:
    """The blocks of type `kind` directly in `parent`'s body, with their headers."""
    for body in _children(parent, "body"):
        for block in _children(body, "block"):
            header = _block_header(block)
            if header[:1] == [kind]:
                yield header, block


def _pool_formulas(tree: Any) -> Iterator[tuple[str, Any]]:
    for header, pool in _blocks(tree, "resource"):
        if header[1:2] != [_POOL_TYPE] or len(header) < 3:
            continue
        for _, auto_scale in _blocks(pool, "auto_scale"):
            for body in _children(auto_scale, "body"):
                for attribute in _children(body, "attribute"):
                    if _label(attribute.children[0].children[0]) == "formula":
                        value = _literal(attribute.children[-1])
                        if value is not None:
                            yield header[2], value


def _literal(expression: Any) -> Any:
    """The string or heredoc node of `formula = ...`; None for anything computed (file(), var.x)."""
    from lark import Tree

    if isinstance(expression, Tree) and expression.data == "expr_term" and len(expression.children) == 1:
        inner = expression.children[0]
        if isinstance(inner, Tree) and inner.data in ("string", "heredoc_template", "heredoc_template_trim"):
            return inner
    return None


def _decode(host: str, node: Any, builder: Builder) -> int:
    """Decode the string or heredoc `node` into `builder`; the host offset after its last character."""
    start, end = int(node.meta.start_pos), int(node.meta.end_pos)
    if node.data == "string":
        _template(host, start + 1, end - 1, builder, escapes=True)
        return end - 1
    header = _HEREDOC.match(host, start)
    if header is None:
        raise HostProblem("unreadable heredoc", start)
    body_start = header.end()
    closing = _closing_line(host, body_start, end)
    removed: set[int] = set()
    if header.group(1) == "-":
        removed = _indentation(host, body_start, closing)
    _template(host, body_start, closing, builder, escapes=False, removed=removed)
    return closing


def _closing_line(host: str, body_start: int, end: int) -> int:
    """Where the closing marker's line starts (the heredoc's value ends there, newline included)."""
    text = host[body_start:end].rstrip("\r\n")
    last_break = text.rfind("\n")
    return body_start + (last_break + 1 if last_break >= 0 else 0)


def _indentation(host: str, start: int, end: int) -> set[int]:
    """The offsets `<<-` removes: on each line, as many leading blanks as the least indented non-blank line has."""
    lines = [(m.start(), m.group()) for m in re.finditer(r"[^\n]*\n?", host[start:end]) if m.group()]
    indents = [len(line) - len(line.lstrip(" \t")) for _, line in lines if line.strip()]
    width = min(indents, default=0)
    removed: set[int] = set()
    for offset, line in lines:
        blanks = min(width, len(line) - len(line.lstrip(" \t")))
        removed.update(range(start + offset, start + offset + blanks))
    return removed


def _template(
    host: str, start: int, end: int, builder: Builder, *, escapes: bool, removed: set[int] | None = None
) -> None:
    i = start
    while i < end:
        if removed and i in removed:
            i += 1
            continue
        pair = host[i : i + 3]
        if pair in ("$${", "%%{"):
            builder.decoded(pair[1:], i, i + 3)
            i += 3
        elif pair[:2] in ("${", "%{"):
            after = closing_brace(host, i + 1, end)
            inner = host[i + 2 : after - 1].strip("~").strip()  # `${~ x ~}` strips whitespace, not a value
            if pair[0] == "$":
                builder.interpolation(inner, i, after)
            else:
                builder.directive(inner, i, after)
            i = after
        elif escapes and host[i] == "\\":
            i = _escape(host, i, builder)
        else:
            builder.literal(host, i, i + 1)
            i += 1


def _escape(host: str, i: int, builder: Builder) -> int:
    kind = host[i + 1 : i + 2]
    if kind in _ESCAPES:
        builder.decoded(_ESCAPES[kind], i, i + 2)
        return i + 2
    width = {"u": 4, "U": 8}.get(kind)
    digits = host[i + 2 : i + 2 + width] if width else ""
    if width and re.fullmatch(r"[0-9A-Fa-f]+", digits) and len(digits) == width:
        builder.decoded(chr(int(digits, 16)), i, i + 2 + width)
        return i + 2 + width
    raise HostProblem(f"invalid escape sequence '\\{kind}' in a quoted string", i)
