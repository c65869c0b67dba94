"""Start the test OpenID Connect provider (tests/oidc_provider/settings.py) in its own process on 127.0.0.1, with its
own SQLite file and a fresh RS256 key; register clients and users in it; stop it afterwards."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
IDP_PASSWORD = "idp-pass-9876"
IDP_PEOPLE = ("carol", "nina", "victor")  # <name>@example.com at the provider, each with IDP_PASSWORD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OidcProvider:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}/o"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (workdir / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings", "PYTHONPATH": str(ROOT),
                    "OIDC_PROVIDER_DB": str(workdir / "idp.sqlite3"), "OIDC_PROVIDER_KEY": str(workdir / "key.pem")}
        self.env.pop("DATABASE_URL", None)
        self.process: subprocess.Popen | None = None

    def _django(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "django", *args], env=self.env, cwd=ROOT, check=True,
                              capture_output=True, text=True, timeout=120, **kwargs)

    def start(self) -> OidcProvider:
        self._django("migrate", "--noinput", "-v", "0")
        log = open(self.workdir / "idp.log", "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen([sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
                                        env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration", timeout=2) as response:
                    if json.load(response)["issuer"] == self.issuer:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the OIDC provider did not start: {(self.workdir / 'idp.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def add_client(self, *, client_id: str, secret: str, redirect_uris: list[str]) -> None:
        """A confidential client for the authorization code flow (RS256 id tokens, no consent screen)."""
        self._run(f"""
from oauth2_provider.models import Application
Application.objects.update_or_create(client_id={client_id!r}, defaults=dict(
    name={client_id!r}, client_secret={secret!r}, client_type="confidential", authorization_grant_type="authorization-code",
    redirect_uris={" ".join(redirect_uris)!r}, algorithm="RS256", skip_authorization=True))""")

    def add_user(self, *, username: str, email: str, password: str, first_name: str = "", last_name: str = "") -> None:
        self._run(f"""
from django.contrib.auth.models import User
user, _ = User.objects.update_or_create(username={username!r}, defaults=dict(email={email!r}, first_name={first_name!r},
                                                                           last_name={last_name!r}))
user.set_password({password!r}); user.save()""")

    def _run(self, code: str) -> None:
        self._django("shell", "-c", code)
