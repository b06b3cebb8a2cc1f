"""A local Batch service for the calls batchsim makes (azure-sdk.md §3, §5, §6).

A stdlib `http.server` on 127.0.0.1: every request must carry `api-version=2025-06-01` and a valid
SharedKey signature (§5.2, implemented here from the reference, not from the SDK); pools are kept as
REST JSON; errors have the service's body shape; every request is recorded. The service's clock is a
number the test can advance, so the 30 s enable rule is checked without sleeping.

List endpoints (`GET /jobs`, `/jobs/{id}/tasks`, `/jobs/{id}/taskcounts`, `/pools`,
`/pools/{id}/nodes`) page as the service does: at most `maxresults` (≤ 1000) items in `value`, and
an `odata.nextLink` carrying the query and a `$skiptoken`. `$filter` takes the OData subset the
service documents for these lists (property paths compared with eq/ne/gt/ge/lt/le to
`DateTime'…'`, strings, numbers; `and`/`or`; parentheses), anything else is the service's 400;
`$select` keeps the named top-level properties. Throttling answers chosen requests with
429 and `Retry-After` (the error body of `TooManyRequests`), and records when each request came.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

API_VERSION = "2025-06-01"
SIGNED_HEADERS = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def iso_duration_s(text: str) -> float:
    """Seconds in an ISO 8601 duration such as PT15M, PT05M00S or P1DT2H."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def service_duration(seconds: float) -> str:
    """The service's own spelling of a duration (`PT15M`, `PT1H30M`)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")


def string_to_sign(method: str, raw_path: str, query: str, headers: dict[str, str], account: str) -> str:
    """§5.2: method, the standard headers, the ocp- headers, /account/path, then sorted query values."""
    lower = {name.lower(): value for name, value in headers.items()}
    parts = [method + "\n"]
    for name in SIGNED_HEADERS:
        value = lower.get(name, "")
        if name == "content-length" and not value and method not in ("GET", "HEAD"):
            value = "0"
        parts.append(value + "\n")
    for name in sorted(n for n in lower if "ocp-" in n and lower[n]):
        parts.append(f"{name}:{lower[name]}\n")
    parts.append(f"/{account}{raw_path}")
    decoded = parse_qs(query, keep_blank_values=True)
    for name in sorted(decoded):
        value = decoded[name][0]
        if value:
            parts.append(f"\n{name}:{value}")
    return "".join(parts)


def sign(key_b64: str, text: str) -> str:
    digest = hmac.new(base64.b64decode(key_b64), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0


def error_body(code: str, message: str, values: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The Batch error body (§5.1)."""
    return {
        "odata.metadata": "https://acct.eastus.batch.azure.com/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
        "code": code,
        "message": {"lang": "en-US", "value": message},
        "values": [{"key": key, "value": value} for key, value in values or []],
    }


def make_pool(pool_id: str = "render", **overrides: Any) -> dict[str, Any]:
    """A pool as GET /pools/{id} returns it, autoscale off unless overridden."""
    pool: dict[str, Any] = {
        "id": pool_id,
        "url": f"https://acct.eastus.batch.azure.com/pools/{pool_id}",
        "eTag": "0x8DDB1E5A1C2F3A4",
        "lastModified": "2026-11-30T10:00:00.0000000Z",
        "creationTime": "2026-11-01T08:00:00.0000000Z",
        "state": "active",
        "stateTransitionTime": "2026-11-01T08:00:00.0000000Z",
        "allocationState": "steady",
        "allocationStateTransitionTime": "2026-11-30T10:05:00.0000000Z",
        "vmSize": "standard_d2s_v3",
        "virtualMachineConfiguration": {
            "imageReference": {
                "publisher": "canonical",
                "offer": "ubuntu-24_04-lts",
                "sku": "server",
                "version": "latest",
            },
            "nodeAgentSKUId": "batch.node.ubuntu 24.04",
        },
        "resizeTimeout": "PT15M",
        "currentDedicatedNodes": 2,
        "currentLowPriorityNodes": 3,
        "targetDedicatedNodes": 2,
        "targetLowPriorityNodes": 3,
        "enableAutoScale": False,
        "enableInterNodeCommunication": False,
        "taskSlotsPerNode": 4,
        "taskSchedulingPolicy": {"nodeFillType": "pack"},
    }
    pool.update(overrides)
    return pool


def autoscale_on(formula: str, results: str, interval: str = "PT15M", **overrides: Any) -> dict[str, Any]:
    """Fields of a pool whose autoscale is on, with the last run's results."""
    fields: dict[str, Any] = {
        "enableAutoScale": True,
        "autoScaleFormula": formula,
        "autoScaleEvaluationInterval": interval,
        "autoScaleRun": {"timestamp": "2026-11-30T10:00:00.1234567Z", "results": results},
    }
    fields.update(overrides)
    return fields


@dataclass
class FakeBatchService:
    """State and behaviour of the local service; tests set the fields, then read `requests`."""

    account: str = "acct"
    key: str = base64.b64encode(b"batchsim-test-key-0123456789abcdef").decode("ascii")
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    clock_s: float = 1_000_000.0
    last_enable_s: dict[str, float] = field(default_factory=dict)
    evaluate_results: str = "$TargetDedicatedNodes=5;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    evaluate_error: dict[str, Any] | None = None
    syntax_error: tuple[int, int, str] | None = None
    resizing_on_enable: bool = False
    enable_failures: list[tuple[int, str, str]] = field(default_factory=list)  # answered first, in order
    delay_s: float = 0.0
    signature_failures: int = 0
    bearer_token: str | None = None  # an Entra ID token the service accepts, for https tests
    bearer_requests: int = 0
    url: str = ""
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    throttle: set[int] = field(default_factory=set)  # 1-based numbers of list requests answered 429
    retry_after_s: int = 1
    list_requests: int = 0
    arrival_s: list[float] = field(default_factory=list)  # wall-clock time of every request
    on_list: Callable[[int], None] | None = None  # called with each list request's number (tests pause here)
    busy_s: float = 0.0  # time spent answering (for benchmarks: what is the service's, not the client's)
    change_after_get: bool = False  # someone else changes the pool right after each GET (a new ETag)
    etag_counter: int = 0

    def advance(self, seconds: float) -> None:
        """The fake clock: what `sleep` does in the tests."""
        self.clock_s += seconds

    def posts(self, suffix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(suffix)]

    # --- request handling -------------------------------------------------------------

    def handle(self, method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parsed_body: Any = None
        if body:
            parsed_body = json.loads(body.decode("utf-8"))
        record = Recorded(method, unquote(raw_path), parse_qs(query), headers, parsed_body)
        self.requests.append(record)
        began = time.monotonic()
        self.arrival_s.append(began)
        status, answer = self._answer(method, unquote(raw_path), query, raw_path, headers, parsed_body)
        record.status = status
        self.busy_s += time.monotonic() - began
        return status, answer

    def _answer(
        self, method: str, path: str, query: str, raw_path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        versions = parse_qs(query).get("api-version", [])
        if versions != [API_VERSION]:
            return 400, error_body("InvalidQueryParameterValue", f"api-version {versions} is not {API_VERSION}")
        lower = {name.lower(): value for name, value in headers.items()}
        if self.bearer_token is not None and lower.get("authorization") == f"Bearer {self.bearer_token}":
            self.bearer_requests += 1
        else:
            refused = self._check_shared_key(method, raw_path, query, headers, lower)
            if refused is not None:
                return refused
        if self.delay_s:
            time.sleep(self.delay_s)
        listed = self._list(method, path, query)
        if listed is not None:
            return listed
        match = re.fullmatch(r"/pools/([^/]+)(?:/(\w+))?", path)
        if not match:
            return 404, error_body("InvalidUri", f"The requested URI does not represent any resource: {path}")
        pool_id, action = match.groups()
        pool = self.pools.get(pool_id)
        if pool is None:
            return 404, error_body("PoolNotFound", "The specified pool does not exist.")
        if method == "GET" and action is None:
            answer = json.loads(json.dumps(pool))
            if self.change_after_get:
                self._touch(pool)
            return 200, answer
        if method == "POST" and action == "enableautoscale":
            wanted = {k.lower(): v for k, v in headers.items()}.get("if-match")
            if wanted is not None and wanted.strip('"') not in (pool["eTag"], "*"):  # azure-core quotes it
                return 412, error_body(
                    "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."
                )
            return self._enable(pool, body or {})
        if method == "POST" and action == "evaluateautoscale":
            return self._evaluate(pool, body or {})
        if method == "POST" and action == "disableautoscale":
            pool["enableAutoScale"] = False
            for key in ("autoScaleFormula", "autoScaleEvaluationInterval", "autoScaleRun"):
                pool.pop(key, None)
            return 200, None
        return 400, error_body("UnsupportedOperation", f"{method} {path} is not supported here.")

    # --- list endpoints ------------------------------------------------------------------------

    def _list(self, method: str, path: str, query: str) -> tuple[int, Any] | None:
        """The answer to a list request, or None when `path` is not one."""
        if method != "GET":
            return None
        counts = re.fullmatch(r"/jobs/([^/]+)/taskcounts", path)
        if counts:
            job_id = counts.group(1)
            if job_id not in self.jobs:
                return 404, error_body("JobNotFound", "The specified job does not exist.")
            states = [t.get("state", "active") for t in self.tasks.get(job_id, [])]
            task_counts = {
                "active": states.count("active"),
                "running": states.count("running") + states.count("preparing"),
                "completed": states.count("completed"),
                "succeeded": sum(
                    1
                    for t in self.tasks.get(job_id, [])
                    if t.get("state") == "completed" and (t.get("executionInfo") or {}).get("exitCode") == 0
                ),
            }
            task_counts["failed"] = task_counts["completed"] - task_counts["succeeded"]
            return 200, {"taskCounts": task_counts, "taskSlotCounts": task_counts}
        items: list[dict[str, Any]] | None = None
        if path == "/jobs":
            items = list(self.jobs.values())
        elif path == "/pools":
            items = list(self.pools.values())
        else:
            tasks = re.fullmatch(r"/jobs/([^/]+)/tasks", path)
            nodes = re.fullmatch(r"/pools/([^/]+)/nodes", path)
            if tasks:
                if tasks.group(1) not in self.jobs:
                    return 404, error_body("JobNotFound", "The specified job does not exist.")
                items = self.tasks.get(tasks.group(1), [])
            elif nodes:
                if nodes.group(1) not in self.pools:
                    return 404, error_body("PoolNotFound", "The specified pool does not exist.")
                items = self.nodes.get(nodes.group(1), [])
        if items is None:
            return None
        self.list_requests += 1
        if self.on_list is not None:
            self.on_list(self.list_requests)
        if self.list_requests in self.throttle:
            return 429, error_body("TooManyRequests", "The server is busy; retry after the interval given.")
        params = {name: values[0] for name, values in parse_qs(query).items()}
        try:
            keep = parse_filter(params.get("$filter", ""))
        except ValueError as exc:
            return 400, error_body(
                "InvalidQueryParameterValue",
                "Value for one of the query parameters specified in the request URI is invalid.",
                [("QueryParameterName", "$filter"), ("Reason", str(exc))],
            )
        size = int(params.get("maxresults", "1000"))
        if not 1 <= size <= 1000:
            return 400, error_body("InvalidQueryParameterValue", "maxresults must be between 1 and 1000")
        matching = [item for item in items if keep(item)]
        start = int(params.get("$skiptoken", "0"))
        page = matching[start : start + size]
        select = [name.strip() for name in params.get("$select", "").split(",") if name.strip()]
        if select:
            page = [{k: v for k, v in item.items() if k in select} for item in page]
        answer: dict[str, Any] = {"odata.metadata": f"{self.url}/$metadata#list", "value": page}
        if start + size < len(matching):
            rest = {k: v for k, v in params.items() if k not in ("api-version", "$skiptoken", "timeOut")}
            rest["$skiptoken"] = str(start + size)
            answer["odata.nextLink"] = f"{self.url}{path}?" + "&".join(
                f"{k}={quote(v, safe='')}" for k, v in rest.items()
            )
        return 200, answer

    def _touch(self, pool: dict[str, Any]) -> None:
        """A change to the pool: a new ETag, as the service gives every update."""
        self.etag_counter += 1
        pool["eTag"] = f"0x8DDB1E5A1C2F{self.etag_counter:04X}"

    def _check_shared_key(
        self, method: str, raw_path: str, query: str, headers: dict[str, str], lower: dict[str, str]
    ) -> tuple[int, Any] | None:
        """None when the SharedKey signature (§5.2) is right, else the service's refusal."""
        if not lower.get("ocp-date"):
            return 403, error_body("MissingRequiredHeader", "The ocp-date header is required.")
        expected = (
            f"SharedKey {self.account}:{sign(self.key, string_to_sign(method, raw_path, query, headers, self.account))}"
        )
        if lower.get("authorization") != expected:
            self.signature_failures += 1
            return 401, error_body(
                "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
                [
                    (
                        "AuthenticationErrorDetail",
                        "The MAC signature found in the HTTP request is not the same as any computed signature.",
                    )
                ],
            )
        return None

    def _syntax_error(self) -> tuple[int, Any]:
        assert self.syntax_error is not None
        line, column, detail = self.syntax_error
        return 400, error_body(
            "AutoScalingFormulaSyntaxError",
            "The specified auto-scaling formula has a syntax error.",
            [("Message", f"Line {line}, Col {column}: {detail}")],
        )

    def _enable(self, pool: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        if self.enable_failures:
            status, code, message = self.enable_failures.pop(0)
            return status, error_body(code, message)
        if pool["allocationState"] != "steady" or self.resizing_on_enable:
            return 409, error_body("PoolBeingResized", "The specified pool is currently being resized.")
        last = self.last_enable_s.get(pool["id"])
        if last is not None and self.clock_s - last < 30:
            return 503, error_body(
                "TooManyEnableAutoScaleRequests", "Too many Enable Pool AutoScale requests are issued on the pool."
            )
        formula = body.get("autoScaleFormula")
        if not formula and not pool["enableAutoScale"]:
            return 400, error_body("InvalidAutoScalingSettings", "The specified auto-scaling settings are not valid.")
        if self.syntax_error is not None:
            return self._syntax_error()
        interval = body.get("autoScaleEvaluationInterval")
        if interval is not None:
            seconds = iso_duration_s(interval)
            if not 300 <= seconds <= 168 * 3600:
                return 400, error_body(
                    "InvalidAutoScalingSettings", "The specified auto-scaling settings are not valid."
                )
            pool["autoScaleEvaluationInterval"] = service_duration(seconds)
        pool.setdefault("autoScaleEvaluationInterval", "PT15M")
        pool["enableAutoScale"] = True
        pool["autoScaleFormula"] = formula or pool.get("autoScaleFormula")
        pool.pop("autoScaleRun", None)  # the first run appears a moment after enable (reference R2)
        self.last_enable_s[pool["id"]] = self.clock_s
        self._touch(pool)
        return 200, None

    def _evaluate(self, pool: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        if not pool["enableAutoScale"]:
            return 409, error_body(
                "OperationInvalidForCurrentState", "The specified operation is not valid for the current state."
            )
        if not body.get("autoScaleFormula"):
            return 400, error_body("InvalidAutoScalingSettings", "The specified auto-scaling settings are not valid.")
        if self.syntax_error is not None:
            return self._syntax_error()
        run: dict[str, Any] = {"timestamp": "2026-12-01T12:00:00.1234567Z", "results": self.evaluate_results}
        if self.evaluate_error is not None:
            run["error"] = self.evaluate_error
        return 200, run


_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<datetime>DateTime'[^']*')|(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][\w/]*))"
)
_COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "ge": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "le": lambda a, b: a is not None and a <= b,
}


@functools.lru_cache(maxsize=1 << 20)
def _instant(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (7 fractional digits as the service writes them)."""
    import pandas as pd

    stamp = pd.Timestamp(text)
    return float((stamp if stamp.tzinfo else stamp.tz_localize("UTC")).timestamp())


def _property(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def parse_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    """The OData `$filter` subset of the Batch list APIs as a predicate; ValueError on anything else."""
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot parse $filter at {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        return lambda item: True
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise ValueError("unexpected end of $filter")
        index += 1
        return tokens[index - 1]

    def literal(token: tuple[str, str]) -> Any:
        kind, value = token
        if kind == "datetime":
            return ("time", _instant(value[len("DateTime'") : -1]))
        if kind == "string":
            return ("text", value[1:-1].replace("''", "'").lower())
        if kind == "number":
            return ("number", float(value))
        if kind == "word" and value in ("true", "false"):
            return ("bool", value == "true")
        raise ValueError(f"expected a value, found {value!r}")

    def comparison() -> Callable[[dict[str, Any]], bool]:
        token = take()
        if token[0] == "open":
            inner = disjunction()
            if take()[0] != "close":
                raise ValueError("unbalanced parentheses in $filter")
            return inner
        if token[0] != "word":
            raise ValueError(f"expected a property, found {token[1]!r}")
        operator = take()[1]
        if operator not in _COMPARE:
            raise ValueError(f"unsupported operator {operator!r}")
        kind, expected = literal(take())
        path, compare = token[1], _COMPARE[operator]

        def test(item: dict[str, Any]) -> bool:
            value = _property(item, path)
            if value is None:
                return operator == "ne"
            if kind == "time":
                value = _instant(str(value))
            elif kind == "text":
                value = str(value).lower()
            elif kind == "number":
                value = float(value)
            return bool(compare(value, expected))

        return test

    def conjunction() -> Callable[[dict[str, Any]], bool]:
        parts = [comparison()]
        while peek() == ("word", "and"):
            take()
            parts.append(comparison())
        return lambda item: all(part(item) for part in parts)

    def disjunction() -> Callable[[dict[str, Any]], bool]:
        parts = [conjunction()]
        while peek() == ("word", "or"):
            take()
            parts.append(conjunction())
        return lambda item: any(part(item) for part in parts)

    predicate = disjunction()
    if index != len(tokens):
        raise ValueError(f"unexpected {tokens[index][1]!r} in $filter")
    return predicate


@dataclass
class Running:
    service: FakeBatchService
    url: str


def serve(service: FakeBatchService, tls: ssl.SSLContext | None = None) -> Iterator[Running]:
    """Run `service` on an ephemeral port of 127.0.0.1 in a thread (https with `tls`), for a fixture."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {name: value for name, value in self.headers.items()}
            status, answer = service.handle(self.command, parts.path, parts.query, headers, body)
            payload = b"" if answer is None else json.dumps(answer).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;odata=minimalmetadata")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("request-id", "00000000-0000-0000-0000-000000000001")
                if status == 200 and isinstance(answer, dict) and "eTag" in answer:
                    self.send_header("ETag", answer["eTag"])
                if status == 429:
                    self.send_header("Retry-After", str(service.retry_after_s))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        do_GET = do_POST = do_HEAD = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    url = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    service.url = url
    try:
        yield Running(service, url)
    finally:
        server.shutdown()
        server.server_close()
