"""The one-file chat page beside an ONNX export, its local transformers.js, and a headless browser.

The page (chat_page.html, filled in here) imports transformers.js from `web/` in the export
folder, copied from an npm install of `@huggingface/transformers` (never a CDN), and tells it
to load the model from that folder only. It renders intone's training template and stops at
the end-of-turn token.

`serve_folder` and `Chromium` drive the page for the browser bench and the tests: a loopback
http server (transformers.js and its wasm need http, not file://) and Debian's chromium,
headless, spoken to over the DevTools protocol with a small stdlib websocket client.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Self

TRANSFORMERS_JS = "@huggingface/transformers"
TRANSFORMERS_JS_VERSION = "4.3.2"
NODE_MODULES_ENV = "INTONE_NODE_MODULES"
WEB_DIR = "web"
# transformers.js's browser build bundles onnxruntime-web's JS; the wasm binary it loads at run
# time (the asyncify build, its default) comes from the onnxruntime-web package beside it.
RUNTIME_FILES = {
    "transformers.js": f"{TRANSFORMERS_JS}/dist/transformers.js",
    "ort-wasm-simd-threaded.asyncify.mjs": "onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs",
    "ort-wasm-simd-threaded.asyncify.wasm": "onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm",
}
_CHECKOUT_WEB = Path(__file__).resolve().parents[3] / WEB_DIR  # intone's own web/ (package.json), in a checkout
NPM_INSTALL = (f"npm ci --prefix {_CHECKOUT_WEB} --ignore-scripts" if (_CHECKOUT_WEB / "package.json").is_file()
               else f"npm install --ignore-scripts --prefix DIR {TRANSFORMERS_JS}@{TRANSFORMERS_JS_VERSION} "
                    f"&& export {NODE_MODULES_ENV}=DIR/node_modules")


def node_modules_candidates() -> list[Path]:
    found = [Path(os.environ[NODE_MODULES_ENV])] if os.environ.get(NODE_MODULES_ENV) else []
    return found + [_CHECKOUT_WEB / "node_modules", Path.cwd() / "node_modules"]


def find_runtime_file(node_modules: Path, relative: str) -> Path | None:
    # npm may nest onnxruntime-web under transformers.js instead of hoisting it
    for base in (node_modules, node_modules / TRANSFORMERS_JS / "node_modules"):
        if (base / relative).is_file():
            return base / relative
    return None


def copy_web_runtime(target: Path) -> dict[str, Any] | None:
    """Copy transformers.js and the onnxruntime-web wasm into `target`; None when no install has them."""
    for node_modules in node_modules_candidates():
        sources = {name: find_runtime_file(node_modules, rel) for name, rel in RUNTIME_FILES.items()}
        if all(sources.values()):
            target.mkdir(parents=True, exist_ok=True)
            for name, source in sources.items():
                shutil.copy2(source, target / name)
            package = json.loads((node_modules / TRANSFORMERS_JS / "package.json").read_text(encoding="utf-8"))
            return {"node_modules": str(node_modules), "transformers_js": package.get("version"),
                    "files": sorted(f"{WEB_DIR}/{name}" for name in sources)}
    return None


def page_settings(*, dtype: str, end_of_turn_id: int, available: list[str] | None = None,
                  stop_ids: list[int] | None = None) -> dict[str, Any]:
    from intone.train.sample import GenerationOptions
    from intone.train.template import BOS, END, START

    defaults = GenerationOptions()  # `intone chat`'s sampling, so the page replies as the CLI does
    return {
        "dtype": dtype,
        "available": available or [dtype],
        "runtime": f"{WEB_DIR}/transformers.js",
        "wasm": {"mjs": f"{WEB_DIR}/ort-wasm-simd-threaded.asyncify.mjs",
                 "wasm": f"{WEB_DIR}/ort-wasm-simd-threaded.asyncify.wasm"},
        "template": {"bos": BOS, "start": START, "end": END},
        "stop_ids": stop_ids or [end_of_turn_id],
        "sampling": {"temperature": defaults.temperature, "top_p": defaults.top_p, "top_k": defaults.top_k,
                     "repetition_penalty": defaults.repetition_penalty},
        "max_new_tokens": defaults.max_new_tokens,
    }


def render_page(settings: dict[str, Any]) -> str:
    source = resources.files("intone.train").joinpath("chat_page.html").read_text(encoding="utf-8")
    blob = json.dumps(settings, ensure_ascii=False).replace("</", "<\\/")  # safe inside <script>
    return source.replace("/*INTONE_SETTINGS*/null", blob)


def write_chat_page(folder: Path, *, dtype: str, end_of_turn_id: int, available: list[str] | None = None) -> Path:
    path = Path(folder) / "chat.html"
    settings = page_settings(dtype=dtype, end_of_turn_id=end_of_turn_id, available=available)
    path.write_text(render_page(settings), encoding="utf-8")
    return path


def template_mismatch(model_folder: Path) -> str | None:
    """A note when the tokenizer's own chat template (which training used) renders prompts other
    than Gemma's turn format, which is what the page renders."""
    from intone.train.template import GemmaTemplate, TemplateError, TextTokenizer, template_for

    template = template_for(TextTokenizer(model_folder))
    if isinstance(template, GemmaTemplate):
        return None
    samples = [[("user", "Hi there")], [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello."), ("user", "Bye")]]
    try:
        same = all(template.prompt(m) == GemmaTemplate().prompt(m) for m in samples)
    except TemplateError:
        same = False
    return None if same else ("the tokenizer's chat template renders prompts other than Gemma's turn format, "
                              "which the chat page uses: replies in the page may differ from `intone chat`")


# ---------------------------------------------------------------------------------------------
# Serving the folder and driving the page (bench/browser_chat.py, tests)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium_binary() -> str | None:
    return next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)


class BrowserError(RuntimeError):
    pass


class Chromium:
    """Headless chromium with one page, spoken to over the DevTools protocol."""

    def __init__(self, binary: str | None = None, timeout: float = 30.0) -> None:
        self.binary = binary or chromium_binary()
        if not self.binary:
            raise BrowserError("chromium is not installed (Debian: apt-get install -y chromium)")
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="intone-chromium-")
        self._process = subprocess.Popen(
            [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self._next_id = 0
        self.console: list[str] = []
        try:
            port = self._devtools_port()
            page = self._page_target(port)
            self._socket = _WebSocket(page["webSocketDebuggerUrl"], timeout)
            self.call("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def _devtools_port(self) -> int:
        deadline = time.monotonic() + self.timeout
        port_file = Path(self._profile) / "DevToolsActivePort"
        while time.monotonic() < deadline:
            if port_file.is_file() and port_file.read_text().strip():
                return int(port_file.read_text().split()[0])
            if self._process.poll() is not None:
                raise BrowserError(f"chromium exited: {self._process.stderr.read()[-2000:]}")
            time.sleep(0.1)
        raise BrowserError("chromium did not open its DevTools port")

    def _page_target(self, port: int) -> dict[str, Any]:
        import urllib.request

        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
                    pages = [t for t in json.load(reply) if t.get("type") == "page"]
                if pages:
                    return pages[0]
            time.sleep(0.1)
        raise BrowserError("chromium has no page target")

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = json.loads(self._socket.receive(max(0.1, deadline - time.monotonic())))
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._note_event(message)

    def _note_event(self, message: dict[str, Any]) -> None:
        params = message.get("params", {})
        if message.get("method") == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif message.get("method") == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console.append(f"exception: {details.get('exception', {}).get('description', details.get('text'))}")

    def open(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        """The value of a JS expression in the page; a promise is awaited."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:  # right after a navigation the page's context may not exist yet
            result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                    "returnByValue": True}, timeout=timeout)
            if "exceptionDetails" not in result:
                return result["result"].get("value")
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            if "Cannot find context" in text and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            raise BrowserError(f"{text}\n" + "\n".join(self.console[-20:]))

    def wait_for(self, expression: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):
                value = self.evaluate(expression, timeout=max(1.0, deadline - time.monotonic()))
                if value:
                    return value
            time.sleep(0.2)
        raise BrowserError(f"timed out waiting for {expression}\n" + "\n".join(self.console[-20:]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._socket.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _WebSocket:
    """Just enough RFC 6455 for the DevTools protocol: masked text frames out, frames in."""

    def __init__(self, url: str, timeout: float) -> None:
        match = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        if not match:
            raise BrowserError(f"not a ws:// url: {url}")
        host, port, path = match.group(1), int(match.group(2)), match.group(3)
        self._sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self._sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                           .encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise BrowserError("DevTools closed the connection during the handshake")
            reply += chunk
        head, self._buffer = reply.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise BrowserError(f"websocket handshake refused: {head[:200]!r}")

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
                                  if n < 1 << 16 else bytes([0x80 | 127]) + struct.pack(">Q", n))
        self._sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                raise BrowserError("DevTools closed the connection")
            self._buffer += chunk
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def receive(self, timeout: float) -> str:
        self._sock.settimeout(timeout)
        try:
            parts: list[bytes] = []
            while True:
                first, second = self._read(2)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack(">H", self._read(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", self._read(8))[0]
                mask = self._read(4) if second & 0x80 else None
                data = self._read(length)
                if mask:
                    data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
                opcode = first & 0x0F
                if opcode == 0x8:
                    raise BrowserError("DevTools closed the connection")
                if opcode in (0x9, 0xA):  # ping / pong: not part of a message
                    continue
                parts.append(data)
                if first & 0x80:
                    return b"".join(parts).decode()
        except TimeoutError as error:
            raise BrowserError("no reply from chromium in time") from error

    def close(self) -> None:
        self._sock.close()
