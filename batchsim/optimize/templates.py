"""Formula templates: a formula with `{{name}}` placeholders and typed, bounded parameters.

Shipped templates are `formulas/templates/*.tmpl` (not `*.formula`, so that `batchsim check
formulas/` checks only complete formulas).

The parameters are declared in the header, one per line:
`// @param name int|float low..high = default`. Rendering checks bounds and substitutes numbers
written the way the grammar reads them (no exponents, no signs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

__all__ = ["Parameter", "Template", "TemplateError", "find_template", "list_templates", "load_template"]

_PARAM = re.compile(r"^//\s*@param\s+(\w+)\s+(int|float)\s+([0-9.]+)\.\.([0-9.]+)\s*=\s*([0-9.]+)\s*$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class TemplateError(ValueError):
    """A template or a parameter set that cannot be rendered; the message names which."""


@dataclass(frozen=True)
class Parameter:
    """A typed, bounded template parameter."""

    name: str
    kind: str  # "int" | "float"
    low: float
    high: float
    default: float

    def literal(self, value: float) -> str:
        if not self.low <= value <= self.high:
            raise TemplateError(f"parameter {self.name}={value} is outside {self.low:g}..{self.high:g}")
        if self.kind == "int":
            return str(round(value))
        text = format(Decimal(repr(float(value))), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Template:
    """A formula template: its name, parameters and text with placeholders."""

    name: str
    parameters: tuple[Parameter, ...]
    text: str

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.parameters}

    def render(self, values: dict[str, float] | None = None) -> str:
        """The formula for `values` (missing ones take their default)."""
        chosen = self.defaults() | (values or {})
        unknown = set(chosen) - {p.name for p in self.parameters}
        if unknown:
            raise TemplateError(f"template {self.name} has no parameter {sorted(unknown)[0]}")
        literals = {p.name: p.literal(chosen[p.name]) for p in self.parameters}
        return _PLACEHOLDER.sub(lambda m: literals[m.group(1)], self.text)


def parse_template(name: str, text: str) -> Template:
    parameters = []
    for line in text.splitlines():
        match = _PARAM.match(line.strip())
        if match:
            pname, kind, low, high, default = match.groups()
            parameters.append(Parameter(pname, kind, float(low), float(high), float(default)))
        elif line.strip().startswith("// @param"):
            raise TemplateError(f"template {name}: cannot read parameter line {line.strip()!r}")
    declared = {p.name for p in parameters}
    used = set(_PLACEHOLDER.findall(text))
    if used - declared:
        raise TemplateError(f"template {name}: placeholder {{{{{sorted(used - declared)[0]}}}}} has no @param line")
    return Template(name, tuple(parameters), text)


def load_template(path: str | Path) -> Template:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_template(path.name.removesuffix(".tmpl").removesuffix(".formula"), text)


def _shipped_dir() -> Path | None:
    """`formulas/templates`, shipped with the package (`batchsim.data`)."""
    from batchsim.data import shipped

    try:
        here = shipped("formulas") / "templates"
    except FileNotFoundError:
        return None
    return here if here.is_dir() else None


def list_templates() -> list[str]:
    directory = _shipped_dir()
    return sorted(p.name.removesuffix(".tmpl") for p in directory.glob("*.tmpl")) if directory else []


def find_template(name_or_file: str) -> Template:
    """A shipped template by name (`spot-share`), or a template file by path."""
    path = Path(name_or_file)
    if path.suffix in (".tmpl", ".formula") or path.exists():
        return load_template(path)
    directory = _shipped_dir()
    if directory is not None and (directory / f"{name_or_file}.tmpl").is_file():
        return load_template(directory / f"{name_or_file}.tmpl")
    raise TemplateError(f"no template {name_or_file!r}; shipped: {', '.join(list_templates()) or 'none found'}")
