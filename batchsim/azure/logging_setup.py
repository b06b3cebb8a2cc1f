"""What the Azure SDKs may print: nothing below an error by default; with `--debug`, their HTTP log.

azure-identity warns on stderr (through Python's last-resort handler) every time a credential of
the `DefaultAzureCredential` chain is unavailable, which on a laptop is most of them; batchsim says
itself what failed, so those warnings are kept off the terminal. `--debug` turns on azure-core's
`HttpLoggingPolicy` lines (method, URL, status, allowed headers; it already writes REDACTED for
`Authorization` and query values it does not know), and a filter replaces the account key, any
`SharedKey`/`Bearer` credential and any token in the text with REDACTED as a second line of defence.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

__all__ = ["RedactingFilter", "configure_azure_logging"]

_CREDENTIALS = re.compile(r"(SharedKey\s+[^:\s]+:|Bearer\s+)[A-Za-z0-9+/=._\-]+", re.IGNORECASE)
_HANDLER_NAME = "batchsim-azure-debug"


class RedactingFilter(logging.Filter):
    """Replaces secrets and credentials in a record's message with REDACTED."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for secret in self.secrets:
            text = text.replace(secret, "REDACTED")
        text = _CREDENTIALS.sub(lambda m: m.group(1) + "REDACTED", text)
        record.msg, record.args = text, None
        return True


def configure_azure_logging(debug: bool, secrets: Iterable[str] = ()) -> None:
    """Set the `azure` loggers for this command: errors only, or the HTTP log on stderr, redacted."""
    logger = logging.getLogger("azure")
    for handler in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        logger.removeHandler(handler)
    if not debug:
        logger.setLevel(logging.ERROR)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter(secrets))
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
