#!/usr/bin/env bash
# Regenerates every fixture under Fixtures/ with the project's own generator (veil-fixtures).
# Run from the package root. Deterministic: the same generator gives the same bytes.
# Golden rollups (Fixtures/expected/) are regenerated only with --expected, on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product veil-fixtures >/dev/null
gen=.build/release/veil-fixtures

# The bundled sample: two days of one site's traffic with a uid cookie field, zstd-compressed.
"$gen" generate --format combined_cookie --lines 20000 --days 2 --seed 7 --visitors 1500 \
    --output Fixtures/sample/access.log
zstd -q -19 -f --rm Fixtures/sample/access.log -o Fixtures/sample/access.log.zst

# Small logs in every format, with their exact ground truth.
for f in combined common combined_cookie combined_cookie_xff vhost_combined json-caddy json-nginx \
    json-traefik json-traefik-default json-cloudflare w3c nginx-custom traefik_clf aws_alb aws_elb aws_s3 haproxy \
    vhost_common gcs squid; do
    sites=()
    case "$f" in vhost_* | json-* | aws_* | haproxy | gcs | squid) sites=(--sites www.example.com,shop.example.org) ;; esac
    "$gen" generate --format "$f" --lines 400 --seed 3 --malformed-share 0.02 "${sites[@]}" \
        --output "Fixtures/formats/$f.log" --truth "Fixtures/formats/$f.truth.json"
done

if [[ "${1:-}" == "--expected" ]]; then
    # Golden rollups of the sample, made with the fixed test key store in Fixtures/keys.
    swift build -c release --product veil >/dev/null
    keys=$(mktemp -d)
    cp -r Fixtures/keys/. "$keys/"
    chmod 700 "$keys" && chmod 600 "$keys"/*
    rm -rf Fixtures/expected
    .build/release/veil run Fixtures/sample/access.log.zst --keys "$keys" -o Fixtures/expected --quiet
    rm -rf "$keys"
fi
