"""`batchsim prices import` against a local server speaking the Retail Prices API's shape."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from batchsim.cli import app

runner = CliRunner()


def item(
    sku: str, meter: str, price: float, product: str = "Virtual Machines Dv3 Series", kind: str = "Consumption"
) -> dict[str, Any]:
    return {
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": price,
        "unitPrice": price,
        "armRegionName": "eastus",
        "location": "US East",
        "effectiveStartDate": "2025-11-01T00:00:00Z",
        "meterId": "00000000-0000-0000-0000-000000000000",
        "meterName": meter,
        "productId": "DZH318Z0BQ4L",
        "skuId": "DZH318Z0BQ4L/00TG",
        "productName": product,
        "skuName": meter,
        "serviceName": "Virtual Machines",
        "serviceId": "DZH313Z7MMC8",
        "serviceFamily": "Compute",
        "unitOfMeasure": "1 Hour",
        "type": kind,
        "isPrimaryMeterRegion": True,
        "armSkuName": sku,
    }


PAGES = [
    [
        item("Standard_D2s_v3", "D2s v3", 0.096),
        item("Standard_D2s_v3", "D2s v3 Spot", 0.0192),
        item("Standard_D2s_v3", "D2s v3", 0.188, product="Virtual Machines DSv3 Series Windows"),
    ],
    [
        item("Standard_D2s_v3", "D2s v3 Spot", 0.0376, product="Virtual Machines DSv3 Series Windows"),
        item("Standard_D2s_v3", "D2s v3", 500.0, kind="Reservation"),
        item("Standard_A1_v2", "A1 v2", 0.043),
        item("Standard_A1_v2", "A1 v2 Low Priority", 0.0086),
    ],
]


class Server:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.requests: list[str] = []


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Server]]:
    state = Server(getattr(request, "param", "ok"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            query = parse_qs(urlparse(self.path).query)
            page = int(query.get("page", ["0"])[0])
            if state.behaviour == "500" and page == 1:
                self.send_response(500)
                self.end_headers()
                return
            if state.behaviour == "429":
                self.send_response(429, "Too Many Requests")
                self.end_headers()
                return
            items: list[Any] = list(PAGES[page])
            if state.behaviour == "malformed" and page == 1:
                items.append({"armSkuName": "Standard_X"})
            host = f"http://127.0.0.1:{self.server.server_address[1]}"
            next_link = f"{host}/api/retail/prices?page={page + 1}" if page + 1 < len(PAGES) else None
            body = json.dumps(
                {"BillingCurrency": "USD", "Items": items, "NextPageLink": next_link, "Count": len(items)}
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api/retail/prices", state
    httpd.shutdown()


def test_import_follows_pages_and_recognises_spot_windows_and_low_priority(
    server: tuple[str, Server], tmp_path: Path
) -> None:
    endpoint, state = server
    out = tmp_path / "catalog.json"
    result = runner.invoke(app, ["prices", "import", "--region", "eastus", "--out", str(out), "--endpoint", endpoint])
    assert result.exit_code == 0, result.output
    rows = {(r["vm_size"], r["os"]): r for r in json.loads(out.read_text())["rows"]}
    assert rows[("Standard_D2s_v3", "linux")]["dedicated_per_hour"] == 0.096
    assert rows[("Standard_D2s_v3", "linux")]["spot_per_hour"] == 0.0192
    assert rows[("Standard_D2s_v3", "windows")]["dedicated_per_hour"] == 0.188
    assert rows[("Standard_D2s_v3", "windows")]["spot_per_hour"] == 0.0376
    assert rows[("Standard_A1_v2", "linux")]["spot_per_hour"] == 0.0086
    assert len(state.requests) == 2
    first = parse_qs(urlparse(state.requests[0]).query)["$filter"][0]
    assert first == "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' and priceType eq 'Consumption'"


def test_out_dash_writes_the_catalog_alone_on_stdout(
    server: tuple[str, Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, _ = server
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["prices", "import", "--region", "eastus", "--out", "-", "--endpoint", endpoint])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # the catalog alone: the status line is on stderr
    assert {(r["vm_size"], r["os"]) for r in document["rows"]} >= {("Standard_D2s_v3", "linux")}
    assert "written to stdout" in result.stderr and not (tmp_path / "-").exists()


def test_sizes_filter(server: tuple[str, Server], tmp_path: Path) -> None:
    endpoint, state = server
    args = [
        "prices",
        "import",
        "--region",
        "eastus",
        "--sizes",
        "Standard_D2s_v3,Standard_A1_v2",
        "--out",
        str(tmp_path / "c.json"),
        "--endpoint",
        endpoint,
    ]
    assert runner.invoke(app, args).exit_code == 0
    assert (
        "(armSkuName eq 'Standard_D2s_v3' or armSkuName eq 'Standard_A1_v2')"
        in parse_qs(urlparse(state.requests[0]).query)["$filter"][0]
    )


@pytest.mark.parametrize(
    ("server", "message"),
    [("500", "page 2: HTTP 500"), ("429", "page 1: HTTP 429"), ("malformed", "page 2, item 4: malformed price item")],
    indirect=["server"],
)
def test_failures_write_nothing(server: tuple[str, Server], tmp_path: Path, message: str) -> None:
    endpoint, _ = server
    out = tmp_path / "catalog.json"
    result = runner.invoke(app, ["prices", "import", "--region", "eastus", "--out", str(out), "--endpoint", endpoint])
    assert result.exit_code == 1
    assert message in result.output and "nothing was written" in result.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_unreachable_endpoint(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "prices",
            "import",
            "--region",
            "eastus",
            "--out",
            str(tmp_path / "c.json"),
            "--endpoint",
            "http://127.0.0.1:9/prices",
        ],
    )
    assert result.exit_code == 1 and "cannot reach" in result.output


def test_cloud_services_dedicated_host_and_basic_products_are_not_vm_prices() -> None:
    from batchsim.cost.retail import rows_from_items

    items = [
        item("Standard_D4as_v5", "D4as v5", 0.392, product="Dasv5 Series Cloud Services"),
        item("Standard_D4as_v5", "D4as v5", 0.208, product="Virtual Machines Dasv5 Series"),
        item("Standard_D4as_v5", "D4as v5 Spot", 0.0381, product="Virtual Machines Dasv5 Series"),
        item("Standard_E2as_v5", "E2as v5", 0.229, product="Easv5 Series CloudServices"),
        item("Standard_A2", "A2", 0.078, product="Virtual Machines A Series Basic"),
        item("Standard_A2", "A2", 0.12, product="Virtual Machines A Series"),
        item("Dsv3_Type3", "Dsv3 Type3", 6.5, product="DSv3 Series Dedicated Host"),
    ]
    rows = {r["vm_size"]: r for r in rows_from_items(items, "test")}
    assert rows["Standard_D4as_v5"]["dedicated_per_hour"] == 0.208
    assert rows["Standard_D4as_v5"]["spot_per_hour"] == 0.0381
    assert rows["Standard_A2"]["dedicated_per_hour"] == 0.12
    assert set(rows) == {"Standard_D4as_v5", "Standard_A2"}
