"""Look at the built site in headless Chromium, as a reader would.

Usage (``make docs-check`` builds the site first)::

    python docs/check_site.py [docs/_build/html] [--out docs/_build/check]

For every HTML page of the site, at window widths of 1024 and 1400 px, the
script fails when

- a code block (``pre``) or a table is wider than the column it sits in, so
  that it scrolls sideways or spills out of the page;
- a formula is left as raw LaTeX (MathJax, served from the site itself, did
  not render it);
- an image did not load, or a figure is shown at less than 70 % of its drawn
  size (its labels would shrink below legibility);

and for every page whether it asks for anything outside the site (a script,
stylesheet or font from the network): the site must work offline. It saves
full-page screenshots of a few representative pages under ``--out`` for a
person to look at.

Chromium comes from Debian's packages (``apt-get install chromium``); the
script talks to it through the DevTools protocol over a pipe, so it needs
nothing beyond the Python standard library.
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTHS = (1024, 1400)
HEIGHT = 900
#: Pages saved as screenshots: landing, getting started, a guide page with
#: math, the API index and a class page, the gallery and an example, two
#: benchmark pages.
SCREENSHOTS = [
    "index.html",
    "getting_started.html",
    "guide/missing_labels.html",
    "api/index.html",
    "api/generated/sklearn_mtl.MultiTaskEstimator.html",
    "auto_examples/index.html",
    "auto_examples/plot_mtl_vs_single_task.html",
    "benchmarks/weighting.html",
    "benchmarks/architectures.html",
]
MIN_FIGURE_SCALE = 0.7
BROWSERS = ("chromium", "chromium-headless-shell", "google-chrome", "chrome")

# Run in the page once it is loaded and MathJax (if any) has typeset it.
CHECK_PAGE = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  const article = document.querySelector("article.bd-article") || document.body;
  const right = article.getBoundingClientRect().right;
  const problems = [];
  const describe = el => {
    const text = (el.innerText || "").trim().split("\n")[0].slice(0, 60);
    return `${el.tagName.toLowerCase()} "${text}"`;
  };
  for (const el of article.querySelectorAll("pre, table")) {
    if (el.closest("pre, table") !== el) continue;   // nested: checked through its parent
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;                   // hidden (e.g. a collapsed block)
    const scrolls = el.scrollWidth > el.clientWidth + 1;
    const spills = box.right > right + 1;
    let clipped = false;
    for (let p = el.parentElement; p && p !== article; p = p.parentElement) {
      if (p.scrollWidth > p.clientWidth + 1 && getComputedStyle(p).overflowX !== "visible") {
        clipped = true;
        break;
      }
    }
    if (scrolls || spills || clipped) {
      const wide = Math.max(el.scrollWidth, box.width);
      problems.push(`${describe(el)}: ${Math.round(wide)} px wide ` +
                    `in a ${Math.round(article.clientWidth)} px column`);
    }
  }
  const rawMath = article.innerText.match(/\\\[|\\\(|\\frac|\\sum/);
  if (rawMath) problems.push(`raw LaTeX left unrendered near "${rawMath[0]}"`);
  for (const img of article.querySelectorAll("img")) {
    if (!img.naturalWidth) {
      problems.push(`image ${img.getAttribute("src")} did not load`);
      continue;
    }
    const figure = img.closest(".sphx-glr-script-out, .sphx-glr-thumbcontainer") === null;
    const scale = img.clientWidth / img.naturalWidth;
    if (figure && img.naturalWidth > 300 && scale < MIN_SCALE) {
      problems.push(`image ${img.getAttribute("src")} shown at ${Math.round(100 * scale)}% ` +
                    `of its ${img.naturalWidth} px`);
    }
  }
  return {problems, height: document.documentElement.scrollHeight};
})()
"""


class Browser:
    """Headless Chromium driven through the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, executable):
        self._profile = tempfile.mkdtemp(prefix="check-site-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_pipes():
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self._process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile}",
                "about:blank",
            ],
            preexec_fn=wire_pipes,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable", session=True)

    def _read_message(self):
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, session=False, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def wait_for(self, event):
        while self._read_message().get("method") != event:
            pass

    def open(self, url, width):
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"]["value"]

    def screenshot(self, path, width, height):
        data = self.send(
            "Page.captureScreenshot",
            session=True,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": min(height, 8000), "scale": 1},
        )["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        self._process.terminate()
        self._process.wait(timeout=30)
        shutil.rmtree(self._profile, ignore_errors=True)


def find_browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    sys.exit(
        "docs-check needs headless Chromium: install it with "
        "`apt-get install -y chromium` (Debian/Ubuntu) and run again."
    )


EXTERNAL = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//[^"']*["']""", re.I
)


def external_requests(html):
    """Scripts, stylesheets, fonts or images the page would fetch from the network."""
    found = []
    for tag in EXTERNAL.findall(html):
        if re.search(r"<link\b", tag, re.I) and not re.search(
            r"rel=[\"'](?:stylesheet|preload|icon|modulepreload)", tag, re.I
        ):
            continue  # a plain link, e.g. rel="canonical": nothing is fetched
        found.append(tag)
    found += re.findall(r"url\(\s*[\"']?(?:https?:)?//[^)]*\)", html)
    return found


def check(site, out):
    pages = sorted(path.relative_to(site).as_posix() for path in site.rglob("*.html"))
    pages = [page for page in pages if not page.startswith(("_modules/", "_sources/"))]
    missing = [page for page in SCREENSHOTS if page not in pages]
    failures = [f"{page}: page missing from the site" for page in missing]
    for page in pages:
        html = (site / page).read_text()
        failures += [f"{page}: fetches {tag}" for tag in external_requests(html)]
    out.mkdir(parents=True, exist_ok=True)
    browser = Browser(find_browser())
    try:
        for width in WIDTHS:
            for page in pages:
                browser.open((site / page).as_uri(), width)
                result = browser.evaluate(CHECK_PAGE.replace("MIN_SCALE", str(MIN_FIGURE_SCALE)))
                failures += [f"{page} at {width} px: {problem}" for problem in result["problems"]]
                if page in SCREENSHOTS:
                    name = page.replace("/", "_").removesuffix(".html")
                    browser.screenshot(out / f"{name}_{width}.png", width, result["height"])
    finally:
        browser.close()
    return pages, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default=Path(__file__).parent / "_build" / "html")
    parser.add_argument("--out", default=Path(__file__).parent / "_build" / "check")
    args = parser.parse_args()
    site, out = Path(args.site).resolve(), Path(args.out).resolve()
    if not (site / "index.html").exists():
        sys.exit(f"{site} holds no built site: run `make docs` first")
    pages, failures = check(site, out)
    widths = " and ".join(map(str, WIDTHS))
    print(f"checked {len(pages)} pages at {widths} px; screenshots in {out}")
    for failure in failures:
        print("FAIL", failure)
    if failures:
        sys.exit(f"{len(failures)} problem(s) found")
    print("no code block or table overflows, math renders, images load, nothing is fetched")


if __name__ == "__main__":
    main()
