"""A scenario's validation errors as a user reads them: every mistake, each with file:line and key.

pydantic reports every problem of a document at once, located by a path of keys and list indexes
through the data; this module maps each path back to the line of the YAML file it came from, names
the dotted key, and for a misspelled key suggests the allowed key it is closest to (difflib).
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["allowed_keys", "describe_errors", "key_path", "line_of"]


def key_path(data: Any, loc: Sequence[Any]) -> tuple[Any, ...]:
    """`loc` without the union members pydantic puts in it (`poisson`, `lognormal`, ...).

    A discriminated union adds its tag to the location: a string that is not a key of the mapping
    at that point but one of its values (`kind: poisson`, `dist: lognormal`).
    """
    node = data
    path: list[Any] = []
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                node = node[part]
            elif isinstance(part, str) and part in node.values():
                continue
            else:
                node = None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        path.append(part)
    return tuple(path)


def line_of(root: yaml.Node | None, path: Sequence[Any]) -> int | None:
    """The 1-based line where the key at `path` is written, or its nearest written parent."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if pair is None:
                return line
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _model_of(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The pydantic model `annotation` validates `node` with (Optional, Annotated and tagged unions unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _model_of(get_args(annotation)[0], node)
    if origin is Union or origin is types.UnionType:
        models = [m for a in get_args(annotation) if (m := _model_of(a, node)) is not None]
        if len(models) == 1:
            return models[0]
        for model in models:  # a tagged union: the member whose Literal tag the data carries
            for name, field in model.model_fields.items():
                tags = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
                if isinstance(node, dict) and node.get(name) in tags:
                    return model
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _item_of(annotation: Any) -> Any:
    """The item type of a (possibly Optional or Annotated) list annotation, else None."""
    origin = get_origin(annotation)
    if origin is list:
        return get_args(annotation)[0]
    if origin is Annotated:
        return _item_of(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        items = [i for a in get_args(annotation) if (i := _item_of(a)) is not None]
        return items[0] if len(items) == 1 else None
    return None


def allowed_keys(model: type[BaseModel], data: Any, path: Sequence[Any]) -> list[str]:
    """The keys the mapping at `path` may have, following `model`'s fields through `data`."""
    annotation: Any = model
    node = data
    for part in path:
        if isinstance(part, int):
            annotation = _item_of(annotation)
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            current = _model_of(annotation, node)
            if current is None or part not in current.model_fields:
                return []
            annotation = current.model_fields[part].annotation
            node = node.get(part) if isinstance(node, dict) else None
        if annotation is None:
            return []
    current = _model_of(annotation, node)
    return list(current.model_fields) if current is not None else []


def _message(error: Any, model: type[BaseModel], data: Any, path: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = allowed_keys(model, data, path[:-1])
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1, cutoff=0.6)
        if close:
            return f"unknown key; did you mean '{close[0]}'?"
        return f"unknown key; allowed here: {', '.join(allowed)}" if allowed else "unknown key"
    if kind == "union_tag_invalid":
        return f"unknown kind; allowed: {error.get('ctx', {}).get('expected_tags', '')}"
    if kind == "missing":
        return "required key missing"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def describe_errors(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    root: yaml.Node | None,
    source: str,
    overridden: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[str]:
    """One line per problem, in file order: `source:line: key 'a.b': message` (`--set` ones first)."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for error in exc.errors():
        path = key_path(data, error["loc"])
        dotted = ".".join(str(p) for p in path)
        message = _message(error, model, data, path)
        if (dotted, message) in found:
            continue  # the members of a plain union each report the same value
        if any(dotted == k or dotted.startswith(f"{k}.") for k in overridden):
            found[(dotted, message)] = (0, f"{source}: --set key '{dotted}': {message}")
        else:
            line = line_of(root, path)
            found[(dotted, message)] = (line or 0, f"{source}:{line}: key '{dotted}': {message}")
    return [text for _, text in sorted(found.values(), key=lambda item: item[0])]
