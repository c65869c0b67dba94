"""Settings, read from the environment (django-environ, strict parsing).

Defaults are the zero-setup local demo's (SQLite, console e-mail). Production sets DEBUG=0 and real
URLs; then every `manage.py check --deploy` hardening applies by default.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-development-key-never-use-in-production")
else:
    SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Links that leave the request (e-mails, webhooks) start with it; unset, with the request's own address (apps/core/site.py).
SITE_URL = env.str("SITE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "apps.core",
    "apps.tenancy",
    "apps.accounts",
    "apps.reports",
    "apps.clients",
    "apps.touchpoints",
    "apps.journeys",
    "apps.imports",
    "apps.messaging",
    "apps.surveys",
    "apps.metrics",
    "apps.feedback",
    "apps.integrations",
    "apps.digests",
    "apps.dashboards",
    "apps.demo",
    "import_export",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # While SITE_URL is unset, links built during the request use the address it came in on (apps/core/site.py).
    "apps.core.site.RequestOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # django-allauth: the sign-in flow's stages (the two-factor step) and its redirects.
    "allauth.account.middleware.AccountMiddleware",
    # An ended session (from the account's Sessions page) is signed out at its next request (apps/accounts/sessions.py).
    "apps.accounts.sessions.SessionTrackingMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    # A database node that cannot be reached (a Citus worker down) answers 503, not 500 (apps/core/middleware.py).
    "apps.core.middleware.DatabaseUnavailableMiddleware",
    # The page entry point's tenant chokepoint: resolves /t/<slug>/, checks membership, activates.
    "apps.tenancy.middleware.TenantMiddleware",
    # django-axes wants to be last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cxm.urls"
WSGI_APPLICATION = "cxm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.tenancy.context_processors.tenancy",
            ],
        },
    }
]

# --- Database ---------------------------------------------------------------------------------
# DATABASE_URL is the role this process connects as. Web and workers use the app role (not owner,
# no BYPASSRLS); `migrate` runs with the owner role's URL. After migrating, the owner grants the
# app role DML rights (apps.tenancy.signals), so DATABASE_APP_ROLE names it.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend plus one fact: tenant tables' primary key is (tenant_id, id) (apps/tenancy/keys.py).
    DATABASES["default"]["ENGINE"] = "apps.tenancy.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="cxm_app")
DATABASE_APP_PASSWORD = env.str("DATABASE_APP_PASSWORD", default="")  # tests switch to the app role with it
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The metrics engine's reads as server-side prepared statements (apps/core/prepared.py); off behind a
# connection pooler in transaction mode.
METRICS_PREPARED_STATEMENTS = env.bool("METRICS_PREPARED_STATEMENTS", default=True)
# Finished rollup reads kept per process until the tenant's rollups change (apps/metrics/readcache.py); 0 = off.
METRICS_READ_CACHE_ENTRIES = env.int("METRICS_READ_CACHE_ENTRIES", default=2048)
# On Citus only (README "Scaling out"): the shards of the tenant co-location group, fixed when
# `manage.py citus_distribute` first distributes the tenant tables.
CITUS_SHARD_COUNT = env.int("CITUS_SHARD_COUNT", default=32)

# --- Cache, Celery ----------------------------------------------------------------------------
# The cache holds the rate limits (apps/core/ratelimit.py), so every web process must share it: with
# DEBUG off, a start with a per-process cache is refused (apps/core/checks.py). The zero-setup demo
# (DEBUG=1, one process) may keep it in memory.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATE_LIMITS_NEED_SHARED_CACHE = not DEBUG

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Nothing in the product reads a task's return value: storing it would write one Redis key per task
# (about 50 million a day at 10,000 tenants). Tests that read results turn it back on for their worker.
CELERY_TASK_IGNORE_RESULT = env.bool("CELERY_TASK_IGNORE_RESULT", default=True)
# A worker keeps its Postgres connection across tasks (Celery's Django fix-up closes it after every task
# unless this is set: a new connection per task cost 18–24% of the machine under load). Safe with row-level
# security because the tenant is a transaction-local setting (apps/tenancy/context.py); cxm/celery.py
# drops a broken or CONN_MAX_AGE-old connection before each task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=200)
# The beat's jobs and the per-tenant tasks they queue run on their own queue, so a burst of them never waits
# behind the work that requests queue (rollup refreshes, alerts, deliveries), nor delays it. A worker started
# without -Q consumes both queues (CELERY_TASK_QUEUES); a deployment may give the polling queue its own worker.
CELERY_POLLING_QUEUE = env.str("CELERY_POLLING_QUEUE", default="polling")
CELERY_TASK_QUEUES = [Queue("celery"), Queue(CELERY_POLLING_QUEUE)] if CELERY_POLLING_QUEUE else None
# The one beat schedule: crontab entries with an expiry, fanning out per tenant.
CELERY_BEAT_SCHEDULE = {
    # Tasks whose queueing failed at commit because the broker was down (apps/tenancy/tasks.py).
    "requeue-deferred-tasks": {
        "task": "apps.tenancy.tasks.requeue_deferred_tasks",
        "schedule": crontab(),
        "options": {"expires": 50},
    },
    # The backstop of the due-work register (apps/tenancy/due.py): every tenant looked at once a day.
    "mark-every-tenant-due": {
        "task": "apps.tenancy.tasks.mark_every_tenant_due",
        "schedule": crontab(minute=50, hour=1),
        "options": {"expires": 60 * 60},
    },
    "expire-member-invitations": {
        "task": "apps.accounts.tasks.fan_out_expire_member_invitations",
        "schedule": crontab(minute=7),
        "options": {"expires": 50 * 60},
    },
    "purge-idempotency-records": {
        "task": "apps.tenancy.tasks.fan_out_purge_idempotency_records",
        "schedule": crontab(minute=23, hour="*/6"),
        "options": {"expires": 60 * 60},
    },
    # Survey distribution (apps/surveys/tasks.py): due invitations and the outbox every minute,
    # reminders and expiry hourly, recurring relationship surveys daily.
    "dispatch-survey-invitations": {
        "task": "apps.surveys.tasks.fan_out_dispatch_invitations",
        "schedule": crontab(),
        "options": {"expires": 50},
    },
    "deliver-survey-outbox": {
        # apps/messaging/tasks.py; the task kept its name from when the outbox lived in surveys.
        "task": "apps.surveys.tasks.fan_out_deliver_outbox",
        "schedule": crontab(),
        "options": {"expires": 50},
    },
    "send-survey-reminders": {
        "task": "apps.surveys.tasks.fan_out_send_reminders",
        "schedule": crontab(minute=17),
        "options": {"expires": 50 * 60},
    },
    "start-scheduled-sends": {
        "task": "apps.surveys.tasks.fan_out_start_scheduled_sends",
        "schedule": crontab(),
        "options": {"expires": 50},
    },
    "expire-survey-invitations": {
        "task": "apps.surveys.tasks.fan_out_expire_invitations",
        "schedule": crontab(minute=41),
        "options": {"expires": 50 * 60},
    },
    # Metrics (apps/metrics/tasks.py): responses refresh their rollup day on commit; these are the
    # funnel catch-up every five minutes and the nightly reconciliation against the raw rows.
    "refresh-recent-funnel": {
        "task": "apps.metrics.tasks.fan_out_refresh_recent_funnel",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    "reconcile-rollups": {
        "task": "apps.metrics.tasks.fan_out_reconcile_rollups",
        "schedule": crontab(minute=30, hour=2),
        "options": {"expires": 6 * 60 * 60},
    },
    "refresh-churn-risk": {
        "task": "apps.metrics.churn_tasks.fan_out_refresh_churn_risk",
        "schedule": crontab(minute=40, hour=3),
        "options": {"expires": 6 * 60 * 60},
    },
    # Webhooks (apps/integrations/tasks.py): the safety net for retries whose countdown message was lost.
    "deliver-due-webhooks": {
        "task": "apps.integrations.tasks.fan_out_deliver_due_webhooks",
        "schedule": crontab(),
        "options": {"expires": 50},
    },
    # Closing the loop (apps/feedback/tasks.py): overdue cases escalate to the CX leads.
    "escalate-overdue-cases": {
        "task": "apps.feedback.tasks.fan_out_escalate_overdue_cases",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    "create-recurring-survey-invitations": {
        "task": "apps.surveys.tasks.fan_out_create_recurring_invitations",
        "schedule": crontab(minute=5, hour=8),
        "options": {"expires": 6 * 60 * 60},
    },
    # Action plans and the experience audit (apps/feedback/tasks.py, names kept from plan_tasks.py): close the plans past their due
    # date daily (met/missed, values frozen); tell the CX leads the six-monthly audits are ready on 1 Jan and 1 Jul.
    "close-due-action-plans": {
        "task": "apps.feedback.plan_tasks.fan_out_close_due_plans",
        "schedule": crontab(minute=15, hour=4),
        "options": {"expires": 6 * 60 * 60},
    },
    "notify-audits-ready": {
        "task": "apps.feedback.plan_tasks.fan_out_audits_ready",
        "schedule": crontab(minute=30, hour=6, day_of_month=1, month_of_year="1,7"),
        "options": {"expires": 12 * 60 * 60},
    },
    # Digests (apps/digests/tasks.py): hourly; a tenant's go out at 07:00 tenant-local (08:00 and
    # 09:00 catch up what failed), each member's digest its own idempotent task.
    "send-digests": {
        "task": "apps.digests.tasks.fan_out_send_digests",
        "schedule": crontab(minute=2),
        "options": {"expires": 50 * 60},
    },
}
if CELERY_POLLING_QUEUE:
    for _entry in CELERY_BEAT_SCHEDULE.values():
        _entry["options"]["queue"] = CELERY_POLLING_QUEUE

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "account_login"

# Sign-in runs on django-allauth (issue 21): e-mail and password, then a second factor for users who have one
# (an authenticator app's code, a recovery code or a passkey), or a passkey alone. No self sign-up: people join a
# workspace by invitation (apps/accounts/auth.py). Password reset stays ours (rate limited, sent through a task).
# Secrets stored in the database (an identity provider's client secret) are encrypted (apps/core/crypto.py).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# Single sign-on (apps/accounts/sso/): how long the provider may take to answer us.
SSO_HTTP_TIMEOUT = env.int("SSO_HTTP_TIMEOUT", default=10)
ACCOUNT_ADAPTER = "apps.accounts.auth.AccountAdapter"
ACCOUNT_FORMS = {"login": "apps.accounts.forms.EmailLoginForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_ON_GET = False
# Wrong passwords are counted by django-axes (per account and address) and apps/accounts/limits.py (per address).
ACCOUNT_RATE_LIMITS = {"login_failed": False, "login": False}
MFA_ADAPTER = "apps.accounts.auth.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "CXM"
# Members are invited by e-mail: their address is the one the invitation reached.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# Passkeys need https except on localhost (development, the browser tests).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=DEBUG)
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
MEMBER_INVITATION_DAYS = env.int("MEMBER_INVITATION_DAYS", default=7)

# Password reset requests per hour (apps/accounts/limits.py): per address, and per e-mail asked for.
PASSWORD_RESET_PER_IP = env.int("PASSWORD_RESET_PER_IP", default=10)
PASSWORD_RESET_PER_EMAIL = env.int("PASSWORD_RESET_PER_EMAIL", default=3)

# django-axes: five wrong passwords lock out that account from that IP for a cool-off period; and
# SIGN_IN_FAILURES_PER_IP wrong passwords from one IP, whichever accounts, pause that IP for every
# account (password spraying; apps/accounts/limits.py).
SIGN_IN_FAILURES_PER_IP = env.int("SIGN_IN_FAILURES_PER_IP", default=20)
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "apps.accounts.axes.lockout_username"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_VERBOSE = False

# --- I18N -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("nl", "Nederlands"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by whitenoise: the product works offline) ---------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- E-mail -----------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CXM <no-reply@cxm.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10
# The outbox (apps/messaging/services.py): attempts per e-mail, and the first retry's
# wait, doubled after each failure (120 s × 2^0…2^6: the last attempt about 4 hours after the first).
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_BACKOFF_SECONDS = env.int("OUTBOX_BACKOFF_SECONDS", default=120)

# --- Webhooks (apps/integrations) -------------------------------------------------------------
# Deliveries: one POST per attempt with this timeout, retried after 5xx/408/429/network errors with
# backoff BASE × 2^(attempt−1) (± JITTER share) up to MAX_ATTEMPTS (60 s … 64 min: about 2 hours),
# 4xx never retried. Loopback receivers are refused unless ALLOW_LOOPBACK (tests, local development);
# private, link-local and other non-public addresses always are (apps/integrations/network.py).
WEBHOOKS_ALLOW_LOOPBACK = env.bool("WEBHOOKS_ALLOW_LOOPBACK", default=False)
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=8)
WEBHOOKS_BACKOFF_SECONDS = env.float("WEBHOOKS_BACKOFF_SECONDS", default=60.0)
WEBHOOKS_BACKOFF_JITTER = env.float("WEBHOOKS_BACKOFF_JITTER", default=0.1)

# --- Security ---------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
X_FRAME_OPTIONS = "DENY"

# Strict CSP: scripts only from our own static files (no inline script anywhere).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.tenancy.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "apps.tenancy.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_RATES": {"user": "1200/minute", "anon": "120/minute"},
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle", "rest_framework.throttling.AnonRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CXM API",
    "DESCRIPTION": (
        "Multi-tenant customer experience management. Every resource lives under "
        "`/api/v1/t/{tenant_slug}/`. Authenticate with a session or `Authorization: Bearer <api key>`. "
        "Errors are JSON: `{\"error\": {\"code\": ..., \"message\": ..., \"fields\": {...}}}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "apps.tenancy.models.Role", "JourneyStatusEnum": "apps.journeys.models.JourneyStatus",
                            "ClientStatusEnum": "apps.clients.models.Client.Status",
                            "ResponseChannelEnum": "apps.surveys.models.Response.Channel",
                            "SurveyStatusEnum": "apps.surveys.models.Survey.Status", "LanguageEnum": "apps.surveys.models.LANGUAGE_CHOICES",
                            "ChannelEnum": "apps.touchpoints.models.Channel",
                            "AlertRuleTriggerEnum": "apps.feedback.models.AlertRule.Trigger",
                            "CaseStatusEnum": "apps.feedback.models.Case.Status", "CaseSourceEnum": "apps.feedback.models.Case.Source",
                            "CaseNoteKindEnum": "apps.feedback.models.CaseNote.Kind",
                            "WebhookKindEnum": "apps.integrations.models.WebhookEndpoint.Kind",
                            # Named explicitly since a second `trigger` / `kind` choice set exists (alert rules, case notes).
                            "TriggerEnum": "apps.surveys.models.Survey.Trigger", "KindEnum": "apps.surveys.models.SurveyKind",
                            "ResponseImportLayoutEnum": "apps.surveys.models.ResponseImport.Layout",
                            "UploadJobStatusEnum": "apps.imports.models.UploadJob.Status"},
    "DEFAULT_GENERATOR_CLASS": "apps.tenancy.schema.TenantAwareSchemaGenerator",
    # Group operations by resource (members, api-keys, …), not by the shared /api/v1/t/{slug}/ prefix.
    "SCHEMA_PATH_PREFIX": r"/api/v1/t/\{tenant_slug\}",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.tenancy.schema.add_error_responses",
    ],
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django_structlog": {"level": "WARNING"}, "axes": {"level": "WARNING"},
                # The in-process broker of `make run` has no host, which kombu warns about at every connection.
                "kombu.connection": {"level": "ERROR" if CELERY_BROKER_URL.startswith("memory://") else "WARNING"}},
}

import structlog  # noqa: E402

structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)
