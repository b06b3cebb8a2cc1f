"""Accept comments: a lint warning the author has weighed, explained where it is reported.

    // batchsim: accept BS105 the dedicated floor keeps work moving while Spot nodes are preempted
    $TargetLowPriorityNodes = min(maxSpot, nodes);

A comment `// batchsim: accept CODE[, CODE...] REASON` accepts those warnings on its own line
(a trailing comment) or, on a line of its own, on the next line that holds code. Accepted
warnings are left out of `check`'s findings. The reason is required — the point is that the file
says why — and a comment that accepts nothing reported there is itself reported, so that an
explanation cannot outlive the warning it explained. Only warnings (project `BS` codes) can be
accepted, never the service's errors.

Comments are found by scanning the text, since the grammar discards them: `//` outside a string
(strings are `"…"` on one line, without escapes, formula reference §2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchsim.formula.diagnostics import Diagnostic, Severity, Span

__all__ = ["ACCEPT_CODE", "Acceptance", "acceptances", "apply_acceptances"]

ACCEPT_CODE = "BS113"
_DIRECTIVE = re.compile(r"//\s*batchsim:\s*accept\b(?P<rest>.*)$")
_CODES = re.compile(r"\s*(?P<codes>BS\d{3}(?:\s*,\s*BS\d{3})*)\b[\s:—–-]*(?P<reason>.*)$")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One accept comment: the codes it accepts, why, where it is, and the line it applies to."""

    codes: frozenset[str]
    reason: str
    span: Span
    applies_to_line: int


def _comment_start(line: str) -> int:
    """The column (0-based) of the `//` that starts a comment on `line`, or -1."""
    in_string = False
    for i, c in enumerate(line):
        if c == '"':
            in_string = not in_string
        elif not in_string and line.startswith("//", i):
            return i
    return -1


def acceptances(text: str) -> tuple[list[Acceptance], list[Diagnostic]]:
    """The accept comments of `text`, and the malformed ones as diagnostics."""
    found: list[Acceptance] = []
    problems: list[Diagnostic] = []
    waiting: list[tuple[int, str, Span]] = []  # own-line comments still looking for their code line
    for number, match in enumerate(_LINE.finditer(text), 1):
        if match.start() == match.end():
            break
        line, offset = match.group().rstrip("\r\n"), match.start()
        start = _comment_start(line) if "batchsim" in line or waiting else -1
        code_part = line if start < 0 else line[:start]
        if code_part.strip() and waiting:
            found += [_accept(rest, span, number, problems) for _, rest, span in waiting]
            waiting = []
        if start >= 0:
            directive = _DIRECTIVE.match(line, start)
            if directive:
                span = Span(number, start + 1, number, len(line) + 1, offset + start, offset + len(line))
                if code_part.strip():
                    found.append(_accept(directive["rest"], span, number, problems))
                else:
                    waiting.append((number, directive["rest"], span))
    for _, _, span in waiting:
        problems.append(_problem("an accept comment must come before the code it accepts, or end its line", span))
    return [a for a in found if a.codes], problems


def _accept(rest: str, span: Span, line: int, problems: list[Diagnostic]) -> Acceptance:
    match = _CODES.match(rest)
    if match is None:
        problems.append(_problem("an accept comment names what it accepts: // batchsim: accept BS105 <why>", span))
        return Acceptance(frozenset(), "", span, line)
    reason = match["reason"].strip()
    if not reason:
        problems.append(_problem("an accept comment must say why the warning is accepted", span))
    codes = frozenset(code.strip() for code in match["codes"].split(","))
    return Acceptance(codes, reason, span, line)


def _problem(message: str, span: Span) -> Diagnostic:
    return Diagnostic(ACCEPT_CODE, Severity.WARNING, f"{message} [accept-comment]", span)


def apply_acceptances(text: str, findings: list[Diagnostic]) -> list[Diagnostic]:
    """`findings` without the warnings accept comments explain, plus the comments' own problems."""
    accepted, problems = acceptances(text)
    if not accepted and not problems:
        return findings
    used: set[tuple[int, str]] = set()
    kept: list[Diagnostic] = []
    for finding in findings:
        match = next(
            (
                a
                for a in accepted
                if finding.severity is Severity.WARNING
                and finding.code in a.codes
                and a.applies_to_line == finding.span.line
            ),
            None,
        )
        if match is None:
            kept.append(finding)
        else:
            used.add((id(match), finding.code))
    for acceptance in accepted:
        for code in sorted(acceptance.codes):
            if (id(acceptance), code) not in used:
                message = f"{code} is accepted here but not reported on line {acceptance.applies_to_line}: remove it"
                problems.append(_problem(message, acceptance.span))
    return kept + problems
