#!/usr/bin/env bash
# Regenerates the fuzz seed corpora under Fixtures/fuzz/corpus/ with the project's own tools:
# `veil-fixtures generate` for logs, e-mail exports and identity tables, `veil aggregate` for
# state files. Deterministic (fixed seeds); run from the package root, then commit the result.
# Seeds are small (a few lines each): libFuzzer mutates small inputs best.
#
# Regenerate after a change of a format the generator writes or of the state file layout
# (a state seed that no longer decodes still fuzzes, but only the decoder's first checks).
#
#   Fixtures/fuzz/make-seeds.sh                 # builds veil and veil-fixtures (debug) if needed
#   VEIL_BIN_DIR=/path/to/bin Fixtures/fuzz/make-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${VEIL_BIN_DIR:-.build/debug}
if [[ -z "${VEIL_BIN_DIR:-}" ]]; then
    swift build --product veil-fixtures >/dev/null
    swift build --product veil >/dev/null
fi
gen="$bin/veil-fixtures"
veil="$bin/veil"

out=Fixtures/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"

generate() { # FORMAT FILE [extra generator options]
    local format=$1 file=$2
    shift 2
    "$gen" generate --format "$format" --lines 50 --seed 11 --malformed-share 0.1 --output "$file" "$@"
}

for f in common combined combined_cookie combined_cookie_xff vhost_combined nginx-custom json-caddy json-nginx \
    json-traefik w3c gcs squid; do
    sites=()
    case "$f" in vhost_combined | json-* | w3c | gcs | squid) sites=(--sites www.example.com,shop.example.org) ;; esac
    generate "$f" "$work/$f.log" "${sites[@]}"
done
for f in json-sendgrid json-mailgun; do
    generate "$f" "$work/$f.log" --visitors 40
done
"$gen" generate --format combined_cookie --lines 400 --seed 11 --output "$work/accounts.log" \
    --accounts "$work/accounts.csv"

# State files: a web log (cells, visitors, contributions) and e-mail exports (recipients),
# aggregated with the fixed test key store (Fixtures/keys), so the same bytes come out each time,
# and with the generator's country database (countries, and the inputs' database: version 8),
# and a web log of a format that logs serving times (json-traefik: version 9).
keys="$work/keys"
cp -r Fixtures/keys "$keys"
chmod 700 "$keys" && chmod 600 "$keys"/*
"$gen" geoip --output "$work/countries.mmdb"
for s in combined_cookie:web json-sendgrid:sendgrid json-mailgun:mailgun json-traefik:timed; do
    "$veil" aggregate "$work/${s%%:*}.log" --input-name "${s%%:*}.log" -o "$work/${s##*:}.veilstate" \
        --keys "$keys" --no-new-keys --geoip "$work/countries.mmdb" --quiet
done
gzip -9n <"$work/combined.log" >"$work/combined.log.gz"
zstd -q -19 <"$work/combined.log" >"$work/combined.log.zst"

python3 - "$work" "$out" <<'PY'
import datetime, gzip, hashlib, json, os, re, sys

work, out = sys.argv[1], sys.argv[2]

def read_lines(name):
    with open(os.path.join(work, name), "rb") as f:
        return f.read().split(b"\n")[:-1]

def put(target, data, name=None):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def chunks(lines, size=3, limit=None):
    groups = [lines[i:i + size] for i in range(0, len(lines), size)]
    return groups[:limit] if limit else groups

def put_chunks(target, lines, size=3, prefix=b"", limit=None):
    for group in chunks(lines, size, limit):
        put(target, prefix + b"\n".join(group) + b"\n")

# Text presets.
for f in ["common", "combined", "combined_cookie", "combined_cookie_xff", "vhost_combined"]:
    put_chunks("text", read_lines(f + ".log"))

# Custom Apache and nginx formats (TextTargets.apacheFormats / nginxFormats), rewritten from
# generated lines.
CLF = re.compile(
    rb'^(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" (\S+) (\S+) "([^"]*)" "([^"]*)"(?: "([^"]*)")?(?: "([^"]*)")?$')
VHOST = re.compile(rb'^([^: ]+):(\d+) (.*)$')

def clf_time(t):
    return datetime.datetime.strptime(t.decode(), "%d/%b/%Y:%H:%M:%S %z")

apache, nginx = [], []
for line in read_lines("vhost_combined.log"):
    v = VHOST.match(line)
    m = v and CLF.match(v.group(3))
    if not m:
        continue
    method, _, rest = m.group(5).partition(b" ")
    apache.append(b'%s %s %s %s [%s] "%s" %s %s 1234 "%s" "%s"' % (
        v.group(1), m.group(1), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6), m.group(7),
        m.group(8), m.group(9)))
for line in read_lines("combined_cookie_xff.log"):
    m = CLF.match(line)
    if not m:
        continue
    t = clf_time(m.group(4))
    xff = (m.group(11) or b"-").replace(b", ", b",")
    apache.append(b'%s %d %s %s "%s" %s %s 0 "www.example.com" "%s" "%s"' % (
        t.strftime("%Y-%m-%dT%H:%M:%S%z").encode(), int(t.timestamp()) * 1000000 + 123456, m.group(1), xff,
        m.group(5), m.group(6), m.group(7), m.group(9), m.group(10) or b"-"))
    parts = m.group(5).split(b" ")
    if len(parts) == 3:
        path, _, query = parts[1].partition(b"?")
        uri = path + (b"?" + query if query else b"")
        nginx.append(b'%s %d.%03d %s "%s %s %s" %s %s 0.004 "%s" "%s" "%s" www.example.com' % (
            t.isoformat().encode(), int(t.timestamp()), 123, m.group(1), parts[0], uri, parts[2], m.group(6),
            m.group(7), m.group(8), m.group(9), m.group(11) or b"-"))
put_chunks("apache-format", apache)
put_chunks("nginx-format", read_lines("nginx-custom.log") + nginx)

# The format string compiler: selector byte (0 Apache, 1 nginx, 2/3/0x83 --email-fields),
# the string, then lines for the compiled parser.
presets = [
    rb'%h %l %u %t "%r" %>s %b',
    rb'%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
    rb'%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    rb'%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{uid}C" "%{X-Forwarded-For}i"',
    rb'%v %a %l %u [%{%d/%b/%Y:%H:%M:%S %z}t] "%m %U%q %H" %>s %B %D "%{Referer}i" "%{User-Agent}i"',
    rb'%{%Y-%m-%dT%H:%M:%S%z}t %{usec}t %{c}a %{X-Forwarded-For}i "%r" %s %O %T "%{Host}i" "%{User-Agent}i" "%{uid}C"',
    rb'"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\""',
    rb'%400,501{User-Agent}i %!200{Referer}i %{sec}t %{begin:msec}t %{end:%FT%T%z}t %% %k %{X}e %{X}n %{X}o %^ti %^to',
]
ccx = read_lines("combined_cookie_xff.log")
for i, p in enumerate(presets):
    body = apache[-3:] if i in (4, 5) else ccx[3 * i:3 * i + 2]
    put("format-string", b"\x00" + p + b"\n" + b"\n".join(body) + b"\n")
nginx_strings = [
    rb'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$cookie_uid"',
    rb'$time_iso8601 $msec $remote_addr "$request_method $uri$is_args$args $server_protocol" $status $bytes_sent $request_time "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $host',
    rb"""log_format  '$remote_addr - $remote_user [$time_local] "$request" '   '$status $body_bytes_sent "$http_referer" \"$http_user_agent\"';""",
    rb"""'${remote_addr} $realip_remote_addr $server_name $http_host $request_uri $document_uri $query_string $proxy_add_x_forwarded_for';""",
]
for i, p in enumerate(nginx_strings):
    body = nginx[:2] if i == 1 else read_lines("nginx-custom.log")[2 * i:2 * i + 2]
    put("format-string", b"\x01" + p + b"\n" + b"\n".join(body) + b"\n")
sendgrid, mailgun = read_lines("json-sendgrid.log"), read_lines("json-mailgun.log")
put("format-string", b"\x02event=event,timestamp=timestamp,recipient=email,campaign=category,url=url,ip=ip,"
    b"user_agent=useragent,automation=sg_machine_open\n" + b"\n".join(sendgrid[:3]) + b"\n")
put("format-string", b"\x03campaign=custom.campaign, time = ts\n" + b"\n".join(sendgrid[3:6]) + b"\n")
put("format-string", b"\x83email=event-data.message.headers.to,site=event-data.domain\n" + b"\n".join(mailgun[:3]) + b"\n")

# JSON lines.
for f in ["json-caddy", "json-nginx", "json-traefik"]:
    put_chunks("json", read_lines(f + ".log"))
put_chunks("json-email", sendgrid)
put_chunks("json-email", mailgun)
mapped = []
for line in sendgrid:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    mapped.append(json.dumps({
        "type": e.get("event"), "ts": e.get("timestamp"), "to": {"email": e.get("email")},
        "meta": {"campaign": e.get("category")}, "link": e.get("url"),
        "client": {"ip": e.get("ip"), "ua": e.get("useragent"), "bot": e.get("sg_machine_open", False)},
    }, separators=(",", ":")).encode())
put_chunks("json-email", mapped, limit=6)

# W3C: the directives, then a few data lines; one chunk changes the layout midway.
w3c = read_lines("w3c.log")
header = [l for l in w3c[:8] if l.startswith(b"#")]
data = [l for l in w3c if not l.startswith(b"#")]
put_chunks("w3c", data, prefix=b"\n".join(header) + b"\n")
put("w3c", b"\n".join(header + data[:2]) + b"\n#Fields: time c-ip cs-method cs-uri cs(User-Agent) cs(Cookie) "
    b"sc-status sc-bytes x-forwarded-for\n00:01:02.5 192.0.2.7 GET /a?b=c Mozilla/5.0+(X11) "
    b"uid=abc;+other=1 200 512 203.0.113.9\n#Date: 2026-11-29 00:00:00\n")

# Squid's native log (a text preset), named to sort after the text seeds, whose first is the
# detect and aggregate seed.
for i, group in enumerate(chunks(read_lines("squid.log"), limit=6)):
    put("text", b"\n".join(group) + b"\n", "squid-%d" % i)

# Cloud Storage usage logs (the w3c target also runs their parser): the header row, then a few
# data lines; named to sort after the W3C seeds, whose first is the detect and aggregate seed.
gcs = read_lines("gcs.log")
for i, group in enumerate(chunks(gcs[1:], limit=6)):
    put("w3c", b"\n".join(gcs[:1] + group) + b"\n", "gcs-%d" % i)
put("detect", b"\n".join(gcs[:4]) + b"\n", "gcs")

# Lines in a container runtime's (CRI) and syslog's envelopes, with a line of another stream or
# program among them.
combined = read_lines("combined.log")[:4]
put("detect", b"".join(b"2026-11-28T12:14:14.123456789Z stdout F " + l + b"\n" for l in combined)
    + b"2026-11-28T12:14:15Z stderr F 2026/11/28 12:14:15 [error] 7#7: open() failed\n", "cri")
put("detect", b"".join(b"<190>Nov 28 12:14:14 web1 nginx[7]: " + l + b"\n" for l in combined)
    + b"<86>Nov 28 12:14:15 web1 CRON[812]: (root) CMD (run-parts)\n", "syslog")

# Detection: one chunk of each kind of input.
for target in ["text", "json", "w3c", "json-email", "nginx-format", "apache-format"]:
    d = os.path.join(out, target)
    first = sorted(os.listdir(d))[0]
    with open(os.path.join(d, first), "rb") as f:
        data = f.read()
    put("detect", data)
    put("aggregate", data)

# State files, whole and as bodies (the version byte, then the file without magic, version and
# CRC-32C).
for name in ["web", "sendgrid", "mailgun", "timed"]:
    with open(os.path.join(work, name + ".veilstate"), "rb") as f:
        state = f.read()
    put("state", state, name + ".veilstate")
    put("state-body", state[8:9] + state[10:-4], name + ".body")

# Identity tables: the header, then a few rows (quoted fields included).
acc = read_lines("accounts.csv")
put_chunks("identity-csv", acc[1:], size=4, prefix=acc[0] + b"\n", limit=12)
put("identity-csv", b'account_id,email,cookie_id,restricted\r\n"a,1","x@example.com","c""1",yes\r\nb,,c2,0\r\n')

# Line reader: first byte = sizes (see LinesTarget), then plain, CRLF, gzip, zstd files.
plain = b"\n".join(read_lines("combined.log")[:6]) + b"\n"
with open(os.path.join(work, "combined.log.gz"), "rb") as f:
    gz = f.read()
with open(os.path.join(work, "combined.log.zst"), "rb") as f:
    zst = f.read()
skippable = b"\x50\x2a\x4d\x18\x04\x00\x00\x00abcd"
for p in [0x00, 0x15, 0x2A, 0x3F, 0x7E]:
    put("lines", bytes([p]) + plain)
    put("lines", bytes([p]) + plain.replace(b"\n", b"\r\n")[:-2])
for p in [0x02, 0x3B, 0x6E]:
    put("lines", bytes([p]) + gzip.compress(plain[:300], mtime=0) + gzip.compress(b"tail\n", mtime=0))
    put("lines", bytes([p]) + skippable + zst)
put("lines", b"\x3a" + gz)
put("lines", b"\x3a" + zst[:len(zst) // 2])
PY
# Country databases (`--geoip`) of every record size, IPv6 and IPv4 trees.
mkdir -p "$out/geoip"
for size in 24 28 32; do
    for v in 4 6; do "$gen" geoip --output "$out/geoip/countries-$size-ipv$v.mmdb" --record-size $size --ip-version $v; done
done
echo "seeds: $(find "$out" -type f | wc -l) files in $out"
