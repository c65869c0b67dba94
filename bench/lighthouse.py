"""Lighthouse on the product's own pages, as production serves them (issue 18 P8).

    .venv/bin/python bench/lighthouse.py                 # the CX lead overview and the staff home, mobile
    .venv/bin/python bench/lighthouse.py --runs 3        # median of three runs per page
    .venv/bin/python bench/lighthouse.py --keep          # keep the server's database and the JSON reports

What it does, all on loopback:

1. installs npm's `lighthouse` (pinned below) into `bench/.lighthouse/` on first use (the npm registry);
2. seeds the demo world into a throwaway SQLite database (`seed_demo`), collects the static files with
   whitenoise's compressed manifest storage (as production: DEBUG off, hashed names, gzip and brotli);
3. starts gunicorn on 127.0.0.1 (two workers, Redis as the cache, DEBUG off) and signs a CX lead and a staff
   member in (session cookies made with Django's own session store);
4. runs Lighthouse's mobile preset (simulated slow 4G and a 4× slower CPU, the default) with Debian's
   Chromium (`/usr/bin/chromium`), performance only, and prints a ratio table: the score (target ≥ 95),
   bytes transferred, total blocking time, largest contentful paint and the heaviest requests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE_VERSION = "12.8.2"
LIGHTHOUSE_DIR = ROOT / "bench" / ".lighthouse"
LIGHTHOUSE_BIN = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
SLUG = "northwind"
PAGES = [  # (name, path, login word, score target, transfer target in KB or None)
    ("CX lead overview", f"/t/{SLUG}/dashboards/", "lead", 95, None),
    ("staff home (phone)", f"/t/{SLUG}/home/", "staff", 95, 300),
]


def ensure_lighthouse() -> None:
    if LIGHTHOUSE_BIN.exists():
        return
    LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
    print(f"installing lighthouse@{LIGHTHOUSE_VERSION} into {LIGHTHOUSE_DIR} (npm registry) …", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(LIGHTHOUSE_DIR), f"lighthouse@{LIGHTHOUSE_VERSION}"],
                   check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(work: Path) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": "bench-lighthouse-" + "x" * 40,
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "EMAIL_URL": "dummymail://",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_ROOT": str(work / "static"),
    }


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


SESSION_SNIPPET = """
import sys
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
for email in sys.argv[1:]:
    user = get_user_model().objects.get(email=email)
    s = SessionStore()
    s[SESSION_KEY], s[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    print(email, s.session_key)
"""


def sessions(env: dict, emails: list[str]) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + SESSION_SNIPPET, *emails], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split() for line in out.strip().splitlines())


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gunicorn stopped:\n{proc.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    sys.exit(f"gunicorn did not answer {url} within {seconds} s")


def lighthouse(url: str, cookie: str, out: Path) -> dict:
    headers = json.dumps({"Cookie": f"sessionid={cookie}"})
    subprocess.run([str(LIGHTHOUSE_BIN), url, f"--chrome-path={CHROMIUM}", "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
                    "--only-categories=performance", "--output=json", f"--output-path={out}", f"--extra-headers={headers}",
                    "--quiet"], check=True)
    report = json.loads(out.read_text())
    audits = report["audits"]
    items = audits["network-requests"]["details"]["items"]
    heaviest = sorted(items, key=lambda i: -i.get("transferSize", 0))[:3]
    return {
        "final_url": report.get("finalDisplayedUrl") or report.get("finalUrl"),
        "score": round(report["categories"]["performance"]["score"] * 100),
        "kb": sum(i.get("transferSize", 0) for i in items) / 1024,
        "tbt": audits["total-blocking-time"]["numericValue"],
        "lcp": audits["largest-contentful-paint"]["numericValue"],
        "fcp": audits["first-contentful-paint"]["numericValue"],
        "heaviest": [(i["url"].rsplit("/", 1)[-1][:48], i.get("transferSize", 0) / 1024) for i in heaviest],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="Lighthouse runs per page (the median is reported)")
    parser.add_argument("--clients", type=int, default=240, help="clients per demo tenant (the demo's own size by default)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (database, static files, reports)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: bash scripts/ensure_chromium.sh")
    ensure_lighthouse()
    work = Path(tempfile.mkdtemp(prefix="cxm-lighthouse-"))
    env = server_env(work)
    started = time.perf_counter()
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--force", "--clients", str(args.clients))
    manage(env, "collectstatic", "--noinput")
    print(f"demo seeded and static files collected (compressed manifest) in {time.perf_counter() - started:.0f} s", flush=True)
    cookies = sessions(env, [f"{word}@{SLUG}.demo" for _, _, word, _, _ in PAGES])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "cxm.wsgi:application", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2", "--log-level", "warning"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    rows = []
    try:
        wait_for(f"{base}/health/", proc)
        for name, path, word, score_target, kb_target in PAGES:
            runs = [lighthouse(base + path, cookies[f"{word}@{SLUG}.demo"], work / f"{word}-{i}.json") for i in range(args.runs)]
            assert all(r["final_url"].endswith(path) for r in runs), f"{name}: redirected to {runs[0]['final_url']} (not signed in?)"
            median = sorted(runs, key=lambda r: r["score"])[len(runs) // 2]
            rows.append((name, score_target, kb_target, median, [r["score"] for r in runs]))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n== Lighthouse {LIGHTHOUSE_VERSION}, mobile preset (simulated slow 4G, 4x CPU slowdown), {CHROMIUM}")
    print(f"{'figure':<52} {'target':>8} {'measured':>9}  ok")
    for name, score_target, kb_target, r, _scores in rows:
        print(f"{'performance score, ' + name:<52} {'≥ ' + str(score_target):>8} {r['score']:>9}  {'yes' if r['score'] >= score_target else 'NO'}")
        if kb_target:
            print(f"{'transferred KB, ' + name:<52} {'≤ ' + str(kb_target):>8} {r['kb']:>9.0f}  {'yes' if r['kb'] <= kb_target else 'NO'}")
    print("\n== Details (median run)")
    for name, _, _, r, scores in rows:
        print(f"  {name}: scores {scores}; {r['kb']:,.0f} KB transferred; FCP {r['fcp']:,.0f} ms; LCP {r['lcp']:,.0f} ms; "
              f"total blocking time {r['tbt']:,.0f} ms")
        print("    heaviest: " + "; ".join(f"{url} {kb:,.0f} KB" for url, kb in r["heaviest"]))
    if args.keep:
        print(f"\nkept: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
