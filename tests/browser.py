"""Load pages of a built site in headless Chromium and list what a reader would see broken.

A site is served from 127.0.0.1 by a thread of this process; Chromium is driven over the
DevTools protocol (tornado's websocket client, already in the environment via ipykernel).
Every request the page makes is intercepted: those to 127.0.0.1 go through, any other is
recorded and refused, so a page can neither leak to nor depend on the network.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import http.server
import itertools
import json
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlparse

from tornado.websocket import websocket_connect

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{")
PIPE_ROW = re.compile(r"^\s*\|(?:[^|\n]*\|){2,}\s*$|\|\s*:?-{3,}:?\s*\|", re.M)
UNDEFINED = re.compile(r"(?<![\w.])-?(?:nan|inf)(?!\w)")  # Python's repr of NaN and inf
GLUE = re.compile(r"\{glue(?::\w+)?\}|\bglue:(?:text|math|figure|any)\b")
OBJECT_REPR = re.compile(r"<[\w.]+ object(?: at 0x[0-9a-f]+)?>")  # a display object shown as its repr

# Runs in the page: waits for MathJax and for every image, then returns what the checks need.
COLLECT = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = "eager"; });
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const skip = "script, style, noscript, pre, code, textarea, template, svg, mjx-container";
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const text = [];
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.parentElement.closest(skip) && n.nodeValue.trim()) text.push(n.nodeValue);
  }
  return JSON.stringify({
    images: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.currentSrc || i.src),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    text: text,
    cells: [...document.querySelectorAll("td, th")].map(c => c.innerText.trim()),
    problematic: [...document.querySelectorAll(".problematic")].map(e => e.textContent),
    outputs: [...document.querySelectorAll(".cell_output pre")].map(e => e.textContent),
    wide: [...document.querySelectorAll("article table")].filter(t =>
      t.scrollWidth > (t.closest(".pst-scrollable-table-container") || t.parentElement).clientWidth + 1
    ).map(t => [...t.querySelectorAll("th")].map(h => h.innerText.trim()).join(" | ")),
    hidden: [...document.querySelectorAll("table a[href]")].filter(a => {
      const r = a.getBoundingClientRect();
      return r.width === 0 || r.left < 0 || r.right > document.documentElement.clientWidth;
    }).map(a => a.textContent.trim()),
    bold: [...document.querySelectorAll("span.pasted-text")].filter(e =>
      parseInt(getComputedStyle(e).fontWeight) > parseInt(getComputedStyle(e.parentElement).fontWeight)
    ).map(e => e.textContent),
    height: Math.ceil(document.documentElement.scrollHeight),
  });
})()
"""


@dataclass(frozen=True)
class Problem:
    kind: str  # one of KINDS
    detail: str


KINDS = ("missing image", "broken link", "broken anchor", "console error", "external request",
         "http error", "raw tex", "table pipes", "undefined number", "glue placeholder", "object repr",
         "wide table", "bold glue", "hidden link")


class Site:
    """A folder served on 127.0.0.1 at a free port, for the life of the `with` block."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> "Site":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def path(self, url: str) -> Path | None:
        """The file a local URL serves (index.html for a folder), or None if it is not local."""
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or parsed.hostname not in LOCAL_HOSTS:
            return None
        path = self.root / unquote(parsed.path).lstrip("/")
        return path / "index.html" if path.is_dir() else path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def chromium_binary() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


class Browser:
    """Headless Chromium with one tab, driven over the DevTools protocol."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900) -> None:
        self.width = width
        binary = chromium_binary()
        if binary is None:
            raise FileNotFoundError("no chromium on PATH (Debian: apt-get install chromium)")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ws_url = self._devtools_url()
        self.loop = asyncio.new_event_loop()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._load: asyncio.Future | None = None
        self.events: list[Problem] = []
        self.loop.run_until_complete(self._connect(ws_url))

    def _devtools_url(self) -> str:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # Chromium prints the address once it listens
            if line.startswith("DevTools listening on "):
                threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # keep draining
                return line.split(" on ", 1)[1].strip()
        raise RuntimeError(f"chromium exited with code {self.proc.wait()} before it listened")

    async def _connect(self, ws_url: str) -> None:
        self.ws = await websocket_connect(ws_url, max_message_size=1 << 30)
        self._reader = asyncio.ensure_future(self._read())
        target = await self._call("Target.createTarget", url="about:blank")
        attached = await self._call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self._call(f"{domain}.enable")
        await self._call("Fetch.enable", patterns=[{"urlPattern": "*"}])

    async def _call(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        msg = {"id": msg_id, "method": method, "params": params}
        if session and hasattr(self, "session"):
            msg["sessionId"] = self.session
        fut = self._pending[msg_id] = self.loop.create_future()
        await self.ws.write_message(json.dumps(msg))
        return await asyncio.wait_for(fut, 180)  # a long page's screenshot on a busy machine

    def _send(self, method: str, **params: Any) -> None:
        """A command whose answer nobody waits for (continuing or refusing a request)."""
        msg = {"id": next(self._ids), "method": method, "params": params, "sessionId": self.session}
        self.ws.write_message(json.dumps(msg))

    async def _read(self) -> None:
        while (raw := await self.ws.read_message()) is not None:
            msg = json.loads(raw)
            if "id" in msg:
                fut = self._pending.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    if "error" in msg:
                        fut.set_exception(RuntimeError(f"DevTools: {msg['error']}"))
                    else:
                        fut.set_result(msg.get("result", {}))
            else:
                self._on_event(msg["method"], msg.get("params", {}))

    def _on_event(self, method: str, p: dict[str, Any]) -> None:
        if "favicon.ico" in json.dumps(p):
            return  # the browser asks for /favicon.ico by itself; the page never referred to one
        if method == "Fetch.requestPaused":
            url = p["request"]["url"]
            local = urlparse(url).hostname in LOCAL_HOSTS
            if not local:
                self.events.append(Problem("external request", url))
            if local:
                self._send("Fetch.continueRequest", requestId=p["requestId"])
            else:
                self._send("Fetch.failRequest", requestId=p["requestId"], errorReason="BlockedByClient")
        elif method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            self.events.append(Problem("console error", args))
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.events.append(Problem("console error", d.get("exception", {}).get("description", d["text"])))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            e = p["entry"]
            self.events.append(Problem("console error", f"{e['text']} {e.get('url', '')}".strip()))
        elif method == "Network.responseReceived" and p["response"]["status"] >= 400:
            self.events.append(Problem("http error", f"{p['response']['status']} {p['response']['url']}"))
        elif method == "Page.loadEventFired" and self._load is not None and not self._load.done():
            self._load.set_result(True)

    def visit(self, url: str, screenshot: Path | None = None, max_height: int = 12000) -> dict[str, Any]:
        """Load `url`, wait for its load event, MathJax and images; return what COLLECT found and
        the events (console errors, failed or external requests) seen while loading."""
        return self.loop.run_until_complete(self._visit(url, screenshot, max_height))

    async def _visit(self, url: str, screenshot: Path | None, max_height: int) -> dict[str, Any]:
        self.events = []
        self._load = self.loop.create_future()
        await self._call("Page.navigate", url=url)
        await asyncio.wait_for(self._load, 60)
        out = await self._call("Runtime.evaluate", expression=COLLECT, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"collecting {url} failed: {out['exceptionDetails']}")
        found = json.loads(out["result"]["value"])
        if screenshot is not None:
            height = min(max(found["height"], 200), max_height)
            # the whole page at the window's width: a window as tall as the page, then a capture
            await self._call("Emulation.setDeviceMetricsOverride", width=self.width, height=height,
                             deviceScaleFactor=1, mobile=False)
            shot = await self._call("Page.captureScreenshot", format="png")
            await self._call("Emulation.clearDeviceMetricsOverride")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        await asyncio.sleep(0.05)  # let late console messages arrive
        return {**found, "events": list(self.events)}

    def close(self) -> None:
        async def shut() -> None:
            try:
                await asyncio.wait_for(self._call("Browser.close", session=False), 5)
            except Exception:  # noqa: BLE001 - the browser may already be gone; killed below
                pass
            self.ws.close()
            self._reader.cancel()
        self.loop.run_until_complete(shut())
        self.loop.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))


def problems(site: Site, url: str, found: dict[str, Any]) -> list[Problem]:
    """Everything wrong with one visited page (`found` from `Browser.visit`)."""
    out = list(found["events"])
    out += [Problem("missing image", src) for src in found["images"]]
    ids: dict[Path, set[str]] = {}
    for href in dict.fromkeys(found["links"]):
        target = site.path(href)
        if target is None:
            continue  # an external link is not a request; following it is the reader's choice
        if not target.is_file():
            out.append(Problem("broken link", href))
            continue
        fragment = urldefrag(href).fragment
        if fragment and target.suffix == ".html":
            if unquote(fragment) not in ids.setdefault(target, _ids(target)):
                out.append(Problem("broken anchor", href))
    for text in found["text"]:
        for kind, pattern in (("raw tex", TEX), ("table pipes", PIPE_ROW), ("undefined number", UNDEFINED),
                              ("glue placeholder", GLUE)):
            if pattern.search(text):
                out.append(Problem(kind, text.strip()[:200]))
    out += [Problem("undefined number", c) for c in found["cells"] if c.lower() in ("nan", "inf", "-inf", "infinity")]
    out += [Problem("glue placeholder", p) for p in found["problematic"]]
    out += [Problem("object repr", o.strip()[:200]) for o in found.get("outputs", []) if OBJECT_REPR.search(o)]
    out += [Problem("wide table", header[:200]) for header in found.get("wide", [])]
    out += [Problem("bold glue", text[:200]) for text in found.get("bold", [])]  # a computed value set apart
    out += [Problem("hidden link", text[:200]) for text in found.get("hidden", [])]  # e.g. a chapter off-screen
    return out


REDIRECT = re.compile(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', re.I)


def html_pages(root: Path) -> list[Path]:
    """The content pages of a Sphinx build (not its search page, generated index or redirects)."""
    skip = {"search.html", "genindex.html", "py-modindex.html"}
    return sorted(p for p in root.rglob("*.html")
                  if p.name not in skip and not any(part.startswith("_") for part in p.relative_to(root).parts)
                  and not REDIRECT.search(p.read_text(errors="replace")))


def broken_redirects(root: Path) -> list[Problem]:
    """Redirect stubs (the root index.html of a Jupyter Book) whose target does not exist."""
    out = []
    for page in root.rglob("*.html"):
        m = REDIRECT.search(page.read_text(errors="replace"))
        if m and not (page.parent / urldefrag(m.group(1)).url).is_file():
            out.append(Problem("broken link", f"{page.relative_to(root)} redirects to {m.group(1)}"))
    return out
