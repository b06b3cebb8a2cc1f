"""Signature help: the signatures of the function or sample method whose `(` encloses the cursor,
with the argument under the cursor."""

from __future__ import annotations

import re

from lsprotocol import types

from batchsim.lsp import docs
from batchsim.lsp.document import Analysis

__all__ = ["signature_help"]

_PARAMETERS = re.compile(r"\((.*)\)")


def signature_help(analysis: Analysis, position: types.Position) -> types.SignatureHelp | None:
    index = analysis.index
    offset = analysis.offset(position)
    depth, commas = 0, 0
    tokens = [t for t in index.tokens if t.end <= offset and t.type not in ("WS", "COMMENT")]
    for position_in_list in range(len(tokens) - 1, -1, -1):
        token = tokens[position_in_list]
        if token.type == "SEMI":
            return None
        if token.type == "RPAR":
            depth += 1
        elif token.type == "COMMA" and depth == 0:
            commas += 1
        elif token.type == "LPAR":
            if depth > 0:
                depth -= 1
                continue
            if position_in_list == 0 or tokens[position_in_list - 1].type != "NAME":
                commas = 0  # a parenthesised expression: the call, if any, is further out
                continue
            name = tokens[position_in_list - 1].text
            is_method = position_in_list >= 2 and tokens[position_in_list - 2].type == "DOT"
            return _help(name, is_method, commas)
    return None


def _help(name: str, is_method: bool, argument: int) -> types.SignatureHelp | None:
    signatures = docs.method_signatures(name) if is_method else docs.function_signatures(name)
    if not signatures:
        return None
    documentation = docs.method_doc(name) if is_method else docs.function_doc(name)
    infos = []
    active: int | None = None
    for number, signature in enumerate(signatures):
        inside = _PARAMETERS.search(signature)
        parameters = [p.strip(" []") for p in inside.group(1).split(",")] if inside and inside.group(1) else []
        # A list parameter (`max(L)`) takes every argument from its place on (§4 doubleVecList).
        variadic = bool(parameters) and parameters[-1] == docs.LIST_PARAMETER
        fits = argument < len(parameters) or variadic
        parameter = min(argument, len(parameters) - 1) if variadic else argument
        infos.append(
            types.SignatureInformation(
                label=signature,
                documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=documentation or ""),
                parameters=[types.ParameterInformation(label=p) for p in parameters],
                active_parameter=parameter,
            )
        )
        if active is None and fits:
            active = number
    chosen = active or 0
    return types.SignatureHelp(
        signatures=infos, active_signature=chosen, active_parameter=infos[chosen].active_parameter
    )
