"""A raw JSON-RPC client over the server's stdio, for what pygls's client cannot send: bad params,
lower-case header names, requests before `initialize`, `exit` without `shutdown`.

Framing follows the LSP base protocol: `Content-Length: N\\r\\n\\r\\n` then N bytes of JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

SERVER = [sys.executable, "-m", "batchsim", "lsp"]


class RawServer:
    """`batchsim lsp` in a subprocess; messages read by a thread into `received`."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._stderr = b""
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr += line

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            assert length is not None
            message = json.loads(stream.read(length))
            with self._changed:
                self.received.append(message)
                self._changed.notify_all()

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any], header: str = "Content-Length") -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.send_raw(f"{header}: {len(body)}\r\n\r\n".encode("ascii") + body)

    def request(self, msg_id: int, method: str, params: Any = None, header: str = "Content-Length") -> dict[str, Any]:
        self.send({"id": msg_id, "method": method, "params": params}, header)
        return self.response(msg_id)

    def initialize(self, process_id: int | None = None) -> dict[str, Any]:
        answer = self.request(0, "initialize", {"processId": process_id, "capabilities": {}})
        self.send({"method": "initialized", "params": {}})
        return answer

    def response(self, msg_id: int, timeout_s: float = 20) -> dict[str, Any]:
        found = self.wait(lambda m: m.get("id") == msg_id and "method" not in m, timeout_s)
        assert found is not None, f"no response to {msg_id}: {self.received}"
        return found

    def wait(self, match: Any, timeout_s: float = 20) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for message in self.received:
                    if match(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def exit_code(self, timeout_s: float = 20) -> int:
        return self.process.wait(timeout_s)

    def stderr(self) -> str:
        self._stderr_reader.join(5)
        return self._stderr.decode("utf-8", "replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
