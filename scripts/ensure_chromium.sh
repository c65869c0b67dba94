#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (/usr/bin/chromium), never a downloaded browser.
# Install it when missing and we may (root with apt); otherwise the browser tests skip loudly
# (or fail, with CXM_REQUIRE_SERVICES=1).
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "ensure_chromium: installing Debian's chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit $?
fi
echo "ensure_chromium: /usr/bin/chromium is missing and cannot be installed here; browser tests will be skipped" >&2
exit 1
