"""A local Azure Resource Manager for `batchsim skus`, over https with a self-signed certificate.

Why https and not a policy override: ARM clients send bearer tokens, which azure-core refuses over
plain http (azure-sdk.md §8 B). Serving TLS on 127.0.0.1 with a certificate made here (the
`cryptography` package) and trusting it through `REQUESTS_CA_BUNDLE` keeps the SDK's own
authentication policy and transport untouched, and lets `DefaultAzureCredential` itself fetch the
token, from an App Service managed-identity endpoint on the same server.

Routes: resource SKUs (paged through `nextLink`), the Batch supported VM SKUs of a location (when
`batch_skus` is set), Batch account get, and the managed-identity token.
Every ARM request must carry `Authorization: Bearer <token>` and the client's api-version.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

COMPUTE_API = "2021-07-01"
BATCH_MGMT_API = "2025-06-01"
TOKEN = "arm-test-token"
IDENTITY_SECRET = "identity-header-secret"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "batchsim test ARM")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "arm-cert.pem", directory / "arm-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def vm_sku(name: str, family: str, vcpus: str, memory_gb: str, gpus: str | None = None, **extra: Any) -> dict[str, Any]:
    """A `virtualMachines` resource SKU as the REST API returns it (capabilities are strings)."""
    capabilities = [
        {"name": "MaxResourceVolumeMB", "value": "16384"},
        {"name": "vCPUs", "value": vcpus},
        {"name": "MemoryGB", "value": memory_gb},
        {"name": "LowPriorityCapable", "value": "True"},
    ]
    if gpus is not None:
        capabilities.append({"name": "GPUs", "value": gpus})
    sku: dict[str, Any] = {
        "resourceType": "virtualMachines",
        "name": name,
        "tier": "Standard",
        "size": name.removeprefix("Standard_"),
        "family": family,
        "locations": ["eastus"],
        "locationInfo": [{"location": "eastus", "zones": ["1", "2", "3"], "zoneDetails": []}],
        "capabilities": capabilities,
        "restrictions": [],
    }
    sku.update(extra)
    return sku


DEFAULT_PAGES: list[list[dict[str, Any]]] = [
    [
        vm_sku("Standard_D2s_v3", "standardDSv3Family", "2", "8"),
        {
            "resourceType": "disks",
            "name": "Premium_LRS",
            "tier": "Premium",
            "locations": ["eastus"],
            "capabilities": [],
        },
        vm_sku(
            "Standard_D64s_v3",
            "standardDSv3Family",
            "64",
            "256",
            restrictions=[
                {
                    "type": "Location",
                    "values": ["eastus"],
                    "restrictionInfo": {"locations": ["eastus"]},
                    "reasonCode": "NotAvailableForSubscription",
                }
            ],
        ),
    ],
    [
        vm_sku("Standard_NC6s_v3", "standardNCSv3Family", "6", "112", gpus="1"),
        vm_sku("Standard_B1ls", "standardBSFamily", "1", "0.5"),
    ],
]


def batch_account(name: str = "acct", **properties: Any) -> dict[str, Any]:
    """A Batch account as ARM returns it."""
    props: dict[str, Any] = {
        "accountEndpoint": f"{name}.eastus.batch.azure.com",
        "provisioningState": "Succeeded",
        "poolAllocationMode": "BatchService",
        "dedicatedCoreQuota": 500,
        "lowPriorityCoreQuota": 100,
        "dedicatedCoreQuotaPerVMFamily": [
            {"name": "standardDSv3Family", "coreQuota": 48},
            {"name": "standardNCSv3Family", "coreQuota": 0},
        ],
        "dedicatedCoreQuotaPerVMFamilyEnforced": True,
        "poolQuota": 100,
        "activeJobAndJobScheduleQuota": 300,
    }
    props.update(properties)
    return {
        "id": f"/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/{name}",
        "name": name,
        "type": "Microsoft.Batch/batchAccounts",
        "location": "eastus",
        "properties": props,
    }


@dataclass
class FakeArm:
    subscription: str = "sub-1"
    pages: list[list[dict[str, Any]]] = field(default_factory=lambda: [list(p) for p in DEFAULT_PAGES])
    accounts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=lambda: {("rg", "acct"): batch_account()})
    token: str = TOKEN
    issued_token: str | None = None  # what the identity endpoint hands out, when not `token`
    requests: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    tokens_issued: int = 0
    url: str = ""
    batch_skus: list[dict[str, Any]] | None = None  # None: the Batch SKU list is not served (404)

    def arm_requests(self) -> list[tuple[str, str, dict[str, list[str]], dict[str, str]]]:
        return [r for r in self.requests if not r[1].startswith("/msi/")]

    def handle(self, path: str, query: str, headers: dict[str, str]) -> tuple[int, Any]:
        params = parse_qs(query)
        lower = {k.lower(): v for k, v in headers.items()}
        self.requests.append(("GET", path, params, lower))
        if path == "/msi/token":
            if lower.get("x-identity-header") != IDENTITY_SECRET or params.get("api-version") != ["2019-08-01"]:
                return 400, {"error": "invalid_request"}
            self.tokens_issued += 1
            resource = params.get("resource", [""])[0]
            return 200, {
                "access_token": self.issued_token or self.token,
                "expires_on": str(int(time.time()) + 3600),
                "resource": resource,
                "token_type": "Bearer",
            }
        if lower.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}}
        skus = re.fullmatch(r"/subscriptions/([^/]+)/providers/Microsoft\.Compute/skus", path)
        if skus:
            if params.get("api-version") != [COMPUTE_API]:
                return 400, {"error": {"code": "InvalidApiVersionParameter", "message": f"api-version {params}"}}
            if skus.group(1) != self.subscription:
                return 404, {
                    "error": {"code": "SubscriptionNotFound", "message": "The subscription could not be found."}
                }
            page = int(params.get("$skiptoken", ["0"])[0])
            answer: dict[str, Any] = {"value": self.pages[page]}
            if page + 1 < len(self.pages):
                location = params.get("$filter", [""])[0].replace("'", "%27").replace(" ", "%20")
                answer["nextLink"] = (
                    f"{self.url}/subscriptions/{self.subscription}/providers/Microsoft.Compute/skus"
                    f"?api-version={COMPUTE_API}&$filter={location}&$skiptoken={page + 1}"
                )
            return 200, answer
        supported = re.fullmatch(
            r"/subscriptions/([^/]+)/providers/Microsoft\.Batch/locations/([^/]+)/virtualMachineSkus", path
        )
        if supported and self.batch_skus is not None:
            if params.get("api-version") != [BATCH_MGMT_API]:
                return 400, {"error": {"code": "InvalidApiVersionParameter", "message": f"api-version {params}"}}
            return 200, {"value": self.batch_skus}
        account = re.fullmatch(
            r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Batch/batchAccounts/([^/]+)", path
        )
        if account:
            if params.get("api-version") != [BATCH_MGMT_API]:
                return 400, {"error": {"code": "InvalidApiVersionParameter", "message": f"api-version {params}"}}
            found = self.accounts.get((account.group(2), account.group(3)))
            if found is None:
                return 404, {
                    "error": {
                        "code": "ResourceNotFound",
                        "message": f"The Resource 'Microsoft.Batch/batchAccounts/{account.group(3)}' under resource "
                        f"group '{account.group(2)}' was not found.",
                    }
                }
            return 200, found
        return 404, {"error": {"code": "InvalidResourceType", "message": f"no route for {path}"}}


def serve_https(arm: FakeArm, directory: Path) -> Iterator[tuple[FakeArm, Path]]:
    """Run `arm` on https://127.0.0.1:PORT; yields it with the certificate path to trust."""
    cert, key = self_signed_certificate(directory)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, answer = arm.handle(unquote(parts.path), parts.query, dict(self.headers.items()))
            payload = json.dumps(answer).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-ms-request-id", "00000000-0000-0000-0000-000000000002")
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
    arm.url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        yield arm, cert
    finally:
        server.shutdown()
        server.server_close()
