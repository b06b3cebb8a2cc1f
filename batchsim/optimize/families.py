"""The templates a search chooses among: one, or several with the family a categorical choice.

With one template the study's parameters are the template's own (`dedicatedFloor`), as they always
were. With several, the family is optuna's categorical parameter `template` and each family's
parameters are conditional on it, named `family.parameter` (two families may both have a
`dedicatedFloor`, over different ranges): a trial suggests only its family's parameters, and
trials.csv has a column per family's parameter, empty for the trials of other families.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from batchsim.optimize.templates import Template, TemplateError

__all__ = ["FAMILY", "Families"]

FAMILY = "template"  # the categorical parameter, and the trials' column naming each trial's family


class Families:
    """The searched templates, by name, in the order given."""

    def __init__(self, templates: Template | Sequence[Template]) -> None:
        chosen = [templates] if isinstance(templates, Template) else list(templates)
        if not chosen:
            raise TemplateError("a search needs at least one template")
        self.by_name: dict[str, Template] = {}
        for template in chosen:
            if template.name in self.by_name:
                raise TemplateError(f"template {template.name} is given twice")
            self.by_name[template.name] = template
        self.several = len(self.by_name) > 1

    @property
    def names(self) -> list[str]:
        return list(self.by_name)

    def column(self, template: Template, parameter: str) -> str:
        """The study's and trials.csv's name of a template's parameter."""
        return f"{template.name}.{parameter}" if self.several else parameter

    def starts(self) -> list[dict[str, Any]]:
        """The first trials: each family's documented defaults."""
        found = []
        for template in self.by_name.values():
            start: dict[str, Any] = {FAMILY: template.name} if self.several else {}
            start.update({self.column(template, p.name): p.default for p in template.parameters})
            found.append(start)
        return found

    def suggest(self, trial: Any) -> tuple[Template, dict[str, float]]:
        """The family and its parameters (by their own names) for an optuna trial."""
        template = (
            self.by_name[trial.suggest_categorical(FAMILY, self.names)]
            if self.several
            else next(iter(self.by_name.values()))
        )
        params: dict[str, float] = {}
        for p in template.parameters:
            name = self.column(template, p.name)
            if p.kind == "int":
                params[p.name] = trial.suggest_int(name, int(p.low), int(p.high))
            else:
                params[p.name] = trial.suggest_float(name, p.low, p.high)
        return template, params

    def row(self, template: Template, params: dict[str, float]) -> dict[str, Any]:
        """A trial's family and parameters as trials.csv columns."""
        return {FAMILY: template.name, **{self.column(template, k): v for k, v in params.items()}}

    def of(self, row: pd.Series) -> tuple[Template, dict[str, float]]:
        """The family and parameters of a trials row."""
        template = self.by_name[str(row[FAMILY])]
        params = {
            p.name: (
                int(row[self.column(template, p.name)])
                if p.kind == "int"
                else float(row[self.column(template, p.name)])
            )
            for p in template.parameters
        }
        return template, params
