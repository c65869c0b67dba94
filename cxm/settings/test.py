"""Test overrides: test mechanics only (fast hashing, in-memory mail, eager tasks by default)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")

from cxm.settings.base import *  # noqa: E402,F403
from cxm.settings.base import BASE_DIR, env  # noqa: E402

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Passkeys on the live server at http://localhost (tests/browser/test_mfa.py): browsers allow WebAuthn there.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")  # tests/test_core_site.py unsets it
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATE_LIMITS_NEED_SHARED_CACHE = False  # each test process counts in its own memory, cleared per test (tests/conftest.py)
# Unit tests run tasks in-process; tests/test_celery_worker.py runs a real worker on Redis.
CELERY_TASK_ALWAYS_EAGER = True
TEST_REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_RESULT_BACKEND = TEST_REDIS_URL
CELERY_POLLING_QUEUE = ""  # a test worker consumes its own queue only (tests/live_worker.py): everything goes there
CELERY_TASK_QUEUES = None
for _entry in CELERY_BEAT_SCHEDULE.values():  # noqa: F405
    _entry["options"].pop("queue", None)
CELERY_TASK_IGNORE_RESULT = False  # tests read tasks' results (the product never does)
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# One test database per pytest process, so concurrent runs (several checkouts, CI) never collide.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_cxm_{os.getpid()}")}  # noqa: F405
ARTIFACTS_DIR = BASE_DIR / "artifacts"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
