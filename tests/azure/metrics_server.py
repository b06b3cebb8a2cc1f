"""A local Azure Monitor metrics data plane over https, for `history pull --resource-id`.

`POST /subscriptions/{sub}/metrics:getBatch` as `azure-monitor-querymetrics` calls it (api-version
2024-02-01, `metricnamespace`, `metricnames`, `starttime`, `endtime`, `interval`, `aggregation`,
body `{"resourceids": [...]}`), answered in the documented response shape (`values[]` per resource,
each metric with `name.value`, `unit`, `timeseries[].data[]` of `{timeStamp, average}`). The Batch
node-count metrics carry no dimension (supported-metrics reference), so `metadatavalues` is empty.
Tokens come from the FakeArm managed-identity endpoint; every request must carry one.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd
from arm_server import TOKEN, self_signed_certificate

METRICS_API = "2024-02-01"
COLUMN_OF = {
    "TotalNodeCount": "dedicated",
    "TotalLowPriorityNodeCount": "spot",
    "PreemptedNodeCount": "preempted",
    "IdleNodeCount": "idle",
    "RunningNodeCount": "running",
    "StartingNodeCount": "starting",
    "UnusableNodeCount": "unusable",
}


@dataclass
class FakeMetrics:
    """Serves `counts` (a node_counts frame, one row a minute) for `resource_id`."""

    resource_id: str
    counts: pd.DataFrame
    token: str = TOKEN
    requests: list[tuple[str, dict[str, list[str]], Any]] = field(default_factory=list)
    url: str = ""

    def handle(self, path: str, query: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        params = parse_qs(query)
        document = json.loads(body or b"{}")
        self.requests.append((path, params, document))
        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}}
        if params.get("api-version") != [METRICS_API] or not path.endswith("/metrics:getBatch"):
            return 400, {"error": {"code": "BadRequest", "message": f"unexpected request {path} {params}"}}
        if params.get("metricnamespace", [""])[0].lower() != "microsoft.batch/batchaccounts":
            return 400, {"error": {"code": "BadRequest", "message": "Failed to find metric namespace"}}
        if params.get("interval") != ["PT1M"] or params.get("aggregation", [""])[0].lower() != "average":
            return 400, {"error": {"code": "BadRequest", "message": "interval/aggregation"}}
        start = pd.Timestamp(params["starttime"][0])
        end = pd.Timestamp(params["endtime"][0])
        rows = self.counts[(self.counts["time"] >= start) & (self.counts["time"] < end)]
        values = []
        for resource in document.get("resourceids", []):
            if resource.lower() != self.resource_id.lower():
                return 404, {"error": {"code": "ResourceNotFound", "message": f"{resource} not found"}}
            metrics = []
            for name in params["metricnames"][0].split(","):
                column = COLUMN_OF.get(name)
                if column is None:
                    return 400, {
                        "error": {"code": "BadRequest", "message": f"Failed to find metric configuration for {name}"}
                    }
                data = [
                    {"timeStamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "average": float(v)}
                    for t, v in zip(rows["time"], rows[column], strict=True)
                ]
                metrics.append(
                    {
                        "id": f"{resource}/providers/Microsoft.Insights/metrics/{name}",
                        "type": "Microsoft.Insights/metrics",
                        "name": {"value": name, "localizedValue": name},
                        "displayDescription": "",
                        "unit": "Count",
                        "timeseries": [{"metadatavalues": [], "data": data}],
                        "errorCode": "Success",
                    }
                )
            values.append(
                {
                    "starttime": params["starttime"][0],
                    "endtime": params["endtime"][0],
                    "interval": "PT1M",
                    "namespace": "Microsoft.Batch/batchAccounts",
                    "resourceregion": "eastus",
                    "resourceid": resource,
                    "value": metrics,
                }
            )
        return 200, {"values": values}


def serve_metrics(metrics: FakeMetrics, directory: Path) -> Iterator[FakeMetrics]:
    """Run `metrics` on https://127.0.0.1:PORT with the certificate the ARM fixture trusts."""
    cert, key = directory / "arm-cert.pem", directory / "arm-key.pem"
    if not cert.exists():
        cert, key = self_signed_certificate(directory)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            status, answer = metrics.handle(unquote(parts.path), parts.query, dict(self.headers.items()), body)
            payload = json.dumps(answer).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    metrics.url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        yield metrics
    finally:
        server.shutdown()
        server.server_close()
