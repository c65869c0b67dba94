"""A dashboard page as PDF, printed by headless Chromium through Playwright's sync API, so the charts
stay vector (issue 7: the executive summary "downloadable as PDF"; RECIPES.md).

How one PDF is made (`html_to_pdf`):
- a fresh Chromium per PDF (nothing shared between people), launched from the setting or environment
  variable `CXM_CHROMIUM` (default /usr/bin/chromium, Debian's package; never a downloaded browser);
- the page's own HTML, already rendered by Django for the person asking, is loaded at a made-up origin
  (http://cxm-pdf.invalid, same path as the page): that document request is answered with the HTML,
  requests under STATIC_URL with our static files read from disk (the staticfiles finders, else
  STATIC_ROOT for collected, hashed names), and every other request is aborted — no network, nothing
  reaches Django again (no cookie is ever given to the browser);
- laid out as print (the print rules of static/css/dashboards*.css) at A4's printable width, so plotly
  draws each chart at the width it is printed;
- it waits until static/js/charts.js marks every chart drawn (`data-charts-drawn` "all", or "none"
  on a page without charts), then `page.pdf(format="A4", print_background=True)`.

It runs in a thread of its own: Playwright's sync API refuses to run inside a running asyncio event
loop (an ASGI server's, a test runner's), and the caller can stop waiting at the time limit even if
Chromium hangs — the thread then ends on Playwright's own timeouts, and always closes the browser.
At most `CXM_PDF_CONCURRENCY` (default 2) PDFs are made at once: each Chromium takes a few hundred MB.

Every failure is a `PdfUnavailable` whose message is a sentence for the person asking (the view answers
503 with it, never 500): Chromium or Playwright missing, the time limit reached (`CXM_PDF_TIMEOUT`
seconds for the whole print, default 30, of which at most 15 waiting for the charts once the page has
loaded), too many PDFs at once, or Chromium failing.
"""

from __future__ import annotations

import logging
import os
import posixpath
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation

logger = logging.getLogger(__name__)

ORIGIN = "http://cxm-pdf.invalid"  # .invalid never resolves (RFC 2606); every request is answered or aborted here
DEFAULT_CHROMIUM = "/usr/bin/chromium"
DEFAULT_TIMEOUT = 30.0  # the whole print: about 3-5 s on an idle server, several times that on a loaded one
DRAW_TIMEOUT = 15.0  # of which waiting for the charts, once the page has loaded
GRACE = 5.0  # beyond the time limit, how long the caller waits for the thread to report before giving up on it
MARGIN_MM = 12
# A4 is 210 × 297 mm; the printable area in CSS pixels (96 per inch) is the viewport the charts are drawn at.
PRINT_WIDTH = round((210 - 2 * MARGIN_MM) / 25.4 * 96)
PRINT_HEIGHT = round((297 - 2 * MARGIN_MM) / 25.4 * 96)
# Closed network, as in tests/browser. No sandbox: containers often run as root, where Chromium's sandbox
# cannot start; the page is our own escaped HTML and every request but our static files is aborted.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# Every chart drawn (static/js/charts.js), or none to draw. A selector, not a JavaScript predicate: waiting on a
# predicate string evaluates it in the page, which a Content-Security-Policy without 'unsafe-eval' refuses.
DRAWN = "html[data-charts-drawn='all'], html[data-charts-drawn='none']"


class PdfUnavailable(Exception):
    """The PDF could not be made; str(exc) says why, in words for the person who asked."""


def chromium_path() -> str:
    return getattr(settings, "CXM_CHROMIUM", None) or os.environ.get("CXM_CHROMIUM") or DEFAULT_CHROMIUM


def pdf_timeout() -> float:
    return float(getattr(settings, "CXM_PDF_TIMEOUT", None) or os.environ.get("CXM_PDF_TIMEOUT") or DEFAULT_TIMEOUT)


_SLOTS = threading.BoundedSemaphore(int(getattr(settings, "CXM_PDF_CONCURRENCY", None) or os.environ.get("CXM_PDF_CONCURRENCY") or 2))


def static_file(url_path: str) -> Path | None:
    """The file on disk behind a URL path under STATIC_URL, or None (not static, missing, or outside)."""
    prefix = urlsplit(settings.STATIC_URL).path
    if not url_path.startswith(prefix):
        return None
    name = posixpath.normpath(unquote(url_path[len(prefix):]))
    if name in (".", "..") or name.startswith(("../", "/")):
        return None
    try:
        found = finders.find(name)
    except SuspiciousFileOperation:
        return None
    if found:
        return Path(found)
    if settings.STATIC_ROOT:  # collected (and, with the manifest storage, hashed) names exist only there
        root = Path(settings.STATIC_ROOT).resolve()
        candidate = (root / name).resolve()
        if candidate.is_file() and root in candidate.parents:
            return candidate
    return None


def html_to_pdf(html: str, *, path: str, timeout: float | None = None) -> bytes:
    """Print `html` — a whole page whose URL path (and query) is `path` — to an A4 PDF (module docstring).
    Raises PdfUnavailable, with a sentence for the person, on any failure."""
    timeout = pdf_timeout() if timeout is None else timeout
    executable = chromium_path()
    if not os.access(executable, os.X_OK):
        raise PdfUnavailable("The PDF printer (Chromium) is not installed on this server.")
    try:
        import playwright.sync_api  # noqa: F401  (optional at import time: the pages work without it)
    except ImportError:
        raise PdfUnavailable("The PDF printer (Playwright) is not installed on this server.") from None
    if not _SLOTS.acquire(timeout=min(timeout, 10)):
        raise PdfUnavailable("Too many PDFs are being made right now.")
    job = _PrintJob(html=html, path=path, executable=executable, deadline=time.monotonic() + timeout, timeout=timeout)
    worker = threading.Thread(target=job.run, name="cxm-pdf", daemon=True)
    try:
        worker.start()  # the job releases the slot when it ends
    except RuntimeError:
        _SLOTS.release()
        raise PdfUnavailable("The server could not start the PDF printer.") from None
    worker.join(timeout + GRACE)
    if worker.is_alive():
        logger.warning("pdf.abandoned", extra={"path": path, "timeout": timeout})
        raise PdfUnavailable(f"Printing took longer than {timeout:g} seconds.")
    if job.error is not None:
        raise job.error
    return job.result


class _PrintJob:
    def __init__(self, *, html: str, path: str, executable: str, deadline: float, timeout: float):
        self.html, self.path, self.executable, self.deadline, self.timeout = html, path, executable, deadline, timeout
        self.result: bytes = b""
        self.error: PdfUnavailable | None = None
        self.problems: list[str] = []  # console errors and aborted requests, logged when printing fails

    def remaining_ms(self) -> float:
        return max(1.0, (self.deadline - time.monotonic()) * 1000)

    def run(self) -> None:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.result = self.print()
            if not self.result.startswith(b"%PDF"):
                raise PdfUnavailable("Chromium did not produce a PDF.")
        except PdfUnavailable as exc:
            self.error = exc
        except PlaywrightTimeout:
            logger.warning("pdf.timeout", extra={"path": self.path, "problems": self.problems[:20]})
            self.error = PdfUnavailable(f"Drawing the page took longer than {self.timeout:g} seconds.")
        except PlaywrightError as exc:
            logger.error("pdf.chromium_failed", extra={"path": self.path, "error": str(exc)[:500], "problems": self.problems[:20]})
            self.error = PdfUnavailable("Chromium could not print the page.")
        except Exception:  # never a 500 for a PDF: the person gets the page with the reason instead
            logger.exception("pdf.failed", extra={"path": self.path})
            self.error = PdfUnavailable("The PDF could not be made.")
        finally:
            _SLOTS.release()

    def print(self) -> bytes:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=self.executable, headless=True, args=CHROMIUM_ARGS,
                                                 timeout=self.remaining_ms())
            try:
                context = browser.new_context(viewport={"width": PRINT_WIDTH, "height": PRINT_HEIGHT}, accept_downloads=False,
                                              service_workers="block")
                page = context.new_page()
                page.on("console", lambda message: self.problems.append(f"console: {message.text}") if message.type == "error" else None)
                page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
                page.route("**/*", self.answer)
                page.emulate_media(media="print")
                page.goto(ORIGIN + self.path, wait_until="load", timeout=self.remaining_ms())
                page.wait_for_selector(DRAWN, state="attached", timeout=min(self.remaining_ms(), DRAW_TIMEOUT * 1000))
                margin = f"{MARGIN_MM}mm"
                return page.pdf(format="A4", print_background=True, margin={"top": margin, "right": margin, "bottom": margin,
                                                                            "left": margin})
            finally:
                browser.close()

    def answer(self, route) -> None:
        """The only network the page has: its document and our static files; everything else is aborted."""
        request = route.request
        url = urlsplit(request.url)
        if f"{url.scheme}://{url.netloc}" == ORIGIN:
            if request.is_navigation_request() and url.path == urlsplit(self.path).path:
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self.html)
                return
            found = static_file(url.path)
            if found is not None:
                route.fulfill(path=str(found))
                return
        self.problems.append(f"aborted: {request.url[:200]}")
        route.abort("blockedbyclient")
