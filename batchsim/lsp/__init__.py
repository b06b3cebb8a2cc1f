"""The language server for autoscale formulas (`batchsim lsp`, DESIGN §8), on pygls.

Layout: `server` (pygls handlers, debounced diagnostics) over one module per feature —
`diagnostics` (check → LSP), `hover`, `completion`, `signatures`, `navigation` (definition,
references, highlights, rename, symbols), `actions` (fixes, evaluate), `evaluate` — which read an
`Analysis` of the document (`document`): its `LineTable` (`positions`, UTF-16 aware) and its
`DocumentIndex` (`index`, tokens and variable occurrences that exist even for text that does not
parse; types from `inference`). Hover and completion texts live in `docs`.

`batchsim.formula` never imports this package; this package uses the language's public parts only.
Importing `batchsim.lsp` itself needs neither pygls nor lsprotocol.
"""

from __future__ import annotations

__all__: list[str] = []
