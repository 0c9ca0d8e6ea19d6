"""Settings for shebao, in one file.

Everything that differs between machines comes from the environment through
the small typed helpers below; nothing else in the code reads os.environ.
SQLite under var/ is the embedded default, PostgreSQL (DATABASE_URL) is
production.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("SHEBAO_VAR_DIR", PROJECT_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, object]:
    """Turn `sqlite:///path` or `postgres://user:pass@host:port/name` into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("//") else parts.path)
        return sqlite_database(Path(path or VAR_DIR / "shebao.sqlite3"))
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "shebao",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": env_int("SHEBAO_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": env_str("SHEBAO_TEST_DB", "test_shebao")},
        }
    raise ValueError(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported; "
        "use sqlite:///path/to/file or postgres://user@host:port/name"
    )


def sqlite_database(path: Path) -> dict[str, object]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue
            # instead of failing when one upgrades a read lock; this is also
            # what serialises appends to the audit chain on SQLite.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
            ),
        },
    }


def secret_key() -> str:
    """SHEBAO_SECRET_KEY, or a key generated once and kept in var/secret_key."""
    if key := env_str("SHEBAO_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


DEBUG = env_bool("SHEBAO_DEBUG", False)
SECRET_KEY = secret_key()
ALLOWED_HOSTS = env_list("SHEBAO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("SHEBAO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "shebao.core",
    "shebao.accounts",
    "shebao.audit",
    "shebao.registry",
    "shebao.cards",
    "shebao.contributions",
    "shebao.inquiry",
    "shebao.complaints",
    "shebao.consultation",
    "shebao.jobs",
    "shebao.emergency",
    "shebao.approval",
    "shebao.plans",
    "shebao.api",
    "shebao.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "shebao.web.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shebao.web.middleware.ReadOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shebao.urls"
WSGI_APPLICATION = "shebao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shebao.web.context.portal",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {
    "default": database_from_url(DATABASE_URL)
    if DATABASE_URL
    else sqlite_database(VAR_DIR / "shebao.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["shebao.accounts.backends.ThrottledModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# Login throttling: after this many failures for one user name (or many more
# from one address) within the window, further attempts are refused.
LOGIN_FAILURE_LIMIT = env_int("SHEBAO_LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("SHEBAO_LOGIN_FAILURE_LIMIT_PER_ADDRESS", 30)
LOGIN_FAILURE_WINDOW_MINUTES = env_int("SHEBAO_LOGIN_FAILURE_WINDOW_MINUTES", 15)

# Sessions: staff sessions end after 8 hours or when the browser closes.
HTTPS = env_bool("SHEBAO_HTTPS", False)
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # `collectstatic` target; may stay empty
# Static files are served by the application (WhiteNoise) straight from the
# apps' static/ folders, so a fresh checkout needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Background jobs (imports, billing runs): each portal process runs them on a
# few threads; with SHEBAO_JOBS_WORKERS=0 they wait for `shebao jobs run`.
# JOBS_INLINE runs them inside the request (tests). A running job whose
# heartbeat is older than JOBS_STALE_SECONDS is taken for dead and re-queued.
JOBS_DIR = Path(env_str("SHEBAO_JOBS_DIR", str(VAR_DIR / "jobs")))
JOBS_WORKERS = env_int("SHEBAO_JOBS_WORKERS", 2)
JOBS_INLINE = env_bool("SHEBAO_JOBS_INLINE", False)
JOBS_STALE_SECONDS = env_int("SHEBAO_JOBS_STALE_SECONDS", 300)

# Caches: local memory of each process. `history` keeps the contribution
# histories persons read on their own pages and through the API, each entry
# checked against the records' version tokens (inquiry/cache.py), never stale.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "history": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "history",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": env_int("SHEBAO_HISTORY_CACHE_ENTRIES", 2000)},
    },
}

# Personal rights record statements: the CJK font embedded in their PDFs (a
# .ttf/.otf/.ttc path; empty: the first Debian font found, see inquiry/pdf.py),
# the public address their QR codes point to (empty: the request's), and the
# checks one address may make on the public verify page per window.
PDF_FONT = env_str("SHEBAO_PDF_FONT")
SITE_URL = env_str("SHEBAO_SITE_URL")
STATEMENT_VERIFY_LIMIT = env_int("SHEBAO_STATEMENT_VERIFY_LIMIT", 30)
STATEMENT_VERIFY_WINDOW_SECONDS = env_int("SHEBAO_STATEMENT_VERIFY_WINDOW_SECONDS", 600)

# Area approval: the documents areas upload (preparation report, card face,
# file structure, rules), kept by area and SHA-256, never overwritten.
APPROVAL_DOCUMENTS_DIR = Path(env_str("SHEBAO_APPROVAL_DIR", str(VAR_DIR / "approval")))
APPROVAL_DOCUMENT_MAX_BYTES = env_int("SHEBAO_APPROVAL_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("SHEBAO_LOG_LEVEL", "WARNING")},
}
