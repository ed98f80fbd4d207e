"""Open an HTML page in headless Chromium with networking off and report what it tried to fetch
and what it logged, through the Chrome DevTools Protocol (websocket-client, already installed
with Jupyter). Used by the offline-report test; no test runner of its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--mute-audio",
                  # networking off: every host resolves nowhere and any proxy use fails
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                  "--proxy-bypass-list=<-loopback>"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_or_skip() -> "Browser":
    """A :class:`Browser` on Debian's chromium; the calling test is skipped when chromium is not
    installed, and fails instead when ``MPM_REQUIRE_BROWSER`` is set (CI: .ci/run)."""
    import os

    import pytest

    executable = find_chromium()
    if executable is None:
        if os.environ.get("MPM_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (MPM_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return Browser(executable)


LOCAL_SCHEMES = ("file://", "data:", "about:", "blob:")


def foreign_requests(seen: dict) -> list[str]:
    """The requests of a :meth:`Browser.visit` that leave the machine."""
    return [u for u in seen["requests"] if not u.startswith(LOCAL_SCHEMES)]


class Browser:
    """One headless Chromium with a DevTools websocket to a blank page."""

    def __init__(self, executable: str):
        import websocket

        self.profile = tempfile.mkdtemp(prefix="mpm-chromium-")
        self.proc = subprocess.Popen([executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
                                      "--remote-debugging-port=0", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.time() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            page = next(t for t in json.load(reply) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        for method in ("Network.enable", "Runtime.enable", "Log.enable", "Page.enable"):
            self.call(method)

    def call(self, method: str, **params) -> int:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def visit(self, url: str, timeout: float = 60) -> dict:
        """Load ``url``; return {"requests": [urls], "errors": [messages]} seen until the page has
        loaded (the load event, or - should that event be missed - ``document.readyState`` of the
        page at ``url`` asked for while waiting) plus a short settle time."""
        requests, errors = [], []
        self.call("Page.navigate", url=url)
        loaded_at, deadline, probe = None, time.time() + timeout, None
        check = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        while time.time() < deadline:
            if loaded_at and time.time() - loaded_at > 0.5:
                break
            self.ws.settimeout(0.5)
            try:
                message = json.loads(self.ws.recv())
            except Exception:  # timeout: ask the page whether it has loaded, keep waiting
                if loaded_at is None:
                    probe = self.call("Runtime.evaluate", expression=check, returnByValue=True)
                continue
            if probe is not None and message.get("id") == probe:
                if message.get("result", {}).get("result", {}).get("value") is True and loaded_at is None:
                    loaded_at = time.time()
                continue
            method, params = message.get("method"), message.get("params", {})
            if method == "Network.requestWillBeSent":
                requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                errors.append(f"failed to load: {params.get('errorText')}")
            elif method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", ""))
            elif method == "Page.loadEventFired":
                loaded_at = time.time()
        if loaded_at is None:
            errors.append(f"page did not finish loading within {timeout:.0f} s")
        return {"requests": requests, "errors": errors}

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
