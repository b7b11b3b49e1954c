#!/usr/bin/env python3
"""The analysts' contract of veil's CSV rollups, checked the way analysts read them.

usage: python3 csv_contract.py [--k N] ROLLUP_DIR...

For every rollup directory (what `veil run` / `veil report` write):

- every table listed below exists as `<table>.csv`, and no other CSV file is there;
- each CSV is UTF-8, RFC 4180 (CRLF record ends, header row) and loads with Python's `csv`
  module; its header is exactly the documented column list (TABLES below: the single source of
  truth for the column contract, matching Sources/VeilCore/Release/Release.swift);
- cell by cell: counts are non-negative integers, bounce_rate is a 4-decimal rate in [0, 1] or
  empty and equals bounces / visits, click_to_open_rate is a 4-decimal ratio equal to
  unique_clickers / unique_openers (empty without openers), campaigns.delivered is a count or
  empty, dates and hours are ISO 8601, weeks start on Monday,
  labels are non-empty, no cell starts with = + - @ TAB or CR (spreadsheet formula injection),
  and row arithmetic holds (status classes sum to requests, bots <= requests, ...);
- the visit length tables: per site and date, rows that tile the scale in order (the first at
  its lowest value, each next one after the one before, ending on the scale's bounds, the last
  open) and whose visits add up to that day's traffic_daily visits;
- each CSV loads with DuckDB's `read_csv_auto` with these column names and types (BIGINT for
  counts, DATE for dates, TIMESTAMP [WITH TIME ZONE] for hours, VARCHAR for labels, DOUBLE or
  DECIMAL for bounce_rate) and the same number of rows;
- manifest.json: classification "anonymous", k (equal to --k when given), key epoch ids in the
  canonical form of the key store's granularity (`d-YYYY-MM-DD` for days), and every table
  listed with its file, its columns and its row count.

Prints one line per problem and exits 1 when there is any; exits 2 on bad usage and 3 when
DuckDB is missing ("pip install duckdb"). Prints "ok: ..." and exits 0 otherwise.
"""

import csv
import datetime
import io
import json
import os
import re
import sys

try:
    import duckdb
except ImportError:
    sys.stderr.write("csv_contract.py: the DuckDB Python package is missing: pip install duckdb\n")
    sys.exit(3)

# Column kinds.
COUNT = "count"  # non-negative integer
RATE = "rate"  # bounces / visits with four decimals, or empty without visits
DATE = "date"  # YYYY-MM-DD
WEEK = "week"  # YYYY-MM-DD, a Monday
HOUR = "hour"  # YYYY-MM-DDTHH:00:00 with Z or +HH:MM / -HH:MM
MONTH = "month"  # YYYY-MM
LABEL = "label"  # non-empty text
VERSION = "version"  # browser major version: digits, or empty (e.g. the (other) row)
STATUS = "status"  # HTTP status code, or (other)
COUNTRY = "country"  # ISO 3166-1 alpha-2 code, (unknown) or (other)
OPTCOUNT = "optcount"  # non-negative integer, or empty when unknown (campaigns.delivered)
RATIO = "ratio"  # a non-negative ratio with four decimals (may exceed 1), or empty
MS = "ms"  # milliseconds with one decimal

# DuckDB types read_csv_auto must infer, per kind.
DUCKDB_TYPES = {
    COUNT: {"BIGINT"},
    RATE: {"DOUBLE"},  # DECIMAL(p,s) accepted too, see duckdb_type_ok
    DATE: {"DATE"},
    WEEK: {"DATE"},
    HOUR: {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP"},
    MONTH: {"VARCHAR", "DATE"},
    LABEL: {"VARCHAR"},
    VERSION: {"BIGINT", "VARCHAR"},
    STATUS: {"BIGINT", "VARCHAR"},
    COUNTRY: {"VARCHAR"},
    OPTCOUNT: {"BIGINT"},
    RATIO: {"DOUBLE"},  # DECIMAL(p,s) accepted too
    MS: {"DOUBLE"},  # DECIMAL(p,s) accepted too
}


def traffic_columns(period_name, period_kind, visitors_column):
    return [("site", LABEL), (period_name, period_kind)] + [
        ("requests", COUNT),
        ("pageviews", COUNT),
        (visitors_column, COUNT),
        ("visits", COUNT),
        ("bounces", COUNT),
        ("bounce_rate", RATE),
        ("bytes", COUNT),
        ("status_1xx", COUNT),
        ("status_2xx", COUNT),
        ("status_3xx", COUNT),
        ("status_4xx", COUNT),
        ("status_5xx", COUNT),
        ("bot_requests", COUNT),
    ]


# Whether one key epoch of a granularity always contains a whole bucket of a range (then the
# traffic table has distinct `visitors`, else `visitors_sum_of_<adjective>`).
COVERS = {
    "hour": {"hour"},
    "day": {"hour", "day"},
    "week": {"hour", "day", "week"},
    "month": {"hour", "day", "month"},
}
ADJECTIVE = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly"}


def visitors_column(granularity, covered_range):
    if covered_range in COVERS.get(granularity, set()):
        return "visitors"
    return "visitors_sum_of_" + ADJECTIVE.get(granularity, granularity)


def tables(granularity):
    """The documented tables and their columns, in file order, for a key epoch granularity."""
    dimension = lambda *cols: [("site", LABEL), ("date", DATE)] + list(cols)
    return {
        "traffic_hourly": traffic_columns("hour", HOUR, visitors_column(granularity, "hour")),
        "traffic_daily": traffic_columns("date", DATE, visitors_column(granularity, "day")),
        "traffic_weekly": traffic_columns("week_start", WEEK, visitors_column(granularity, "week")),
        "traffic_monthly": traffic_columns("month", MONTH, visitors_column(granularity, "month")),
        "pages": dimension(("path", LABEL), ("pageviews", COUNT), ("visitors", COUNT)),
        "entry_pages": dimension(
            ("path", LABEL), ("visits", COUNT), ("bounces", COUNT), ("bounce_rate", RATE), ("visitors", COUNT)
        ),
        "exit_pages": dimension(("path", LABEL), ("exits", COUNT), ("visitors", COUNT)),
        "visit_durations": dimension(
            ("min_seconds", COUNT), ("max_seconds", OPTCOUNT), ("visits", COUNT), ("pageviews", COUNT),
            ("visitors", COUNT)
        ),
        "visit_pageviews": dimension(
            ("min_pageviews", COUNT), ("max_pageviews", OPTCOUNT), ("visits", COUNT), ("pageviews", COUNT),
            ("visitors", COUNT)
        ),
        "not_found": dimension(("path", LABEL), ("requests", COUNT), ("bot_requests", COUNT)),
        "referrers": dimension(
            ("referrer_host", LABEL), ("pageviews", COUNT), ("visitors", COUNT), ("visits", COUNT), ("bounces", COUNT),
            ("bounce_rate", RATE)
        ),
        "web_campaigns": dimension(
            ("source", LABEL), ("medium", LABEL), ("campaign", LABEL), ("pageviews", COUNT), ("visitors", COUNT),
            ("visits", COUNT), ("bounces", COUNT), ("bounce_rate", RATE)
        ),
        "browsers": dimension(
            ("browser", LABEL), ("version", VERSION), ("pageviews", COUNT), ("visitors", COUNT)
        ),
        "operating_systems": dimension(("os", LABEL), ("pageviews", COUNT), ("visitors", COUNT)),
        "devices": dimension(("device", LABEL), ("pageviews", COUNT), ("visitors", COUNT)),
        "status_codes": dimension(("status", STATUS), ("requests", COUNT), ("bot_requests", COUNT)),
        "bots": dimension(
            ("bot", LABEL), ("requests", COUNT), ("bytes", COUNT), ("status_1xx", COUNT), ("status_2xx", COUNT),
            ("status_3xx", COUNT), ("status_4xx", COUNT), ("status_5xx", COUNT)
        ),
        "campaigns": dimension(
            ("campaign", LABEL),
            ("delivered", OPTCOUNT),
            ("human_opens", COUNT),
            ("proxy_opens", COUNT),
            ("bot_opens", COUNT),
            ("unique_openers", COUNT),
            ("clicks", COUNT),
            ("scanner_clicks", COUNT),
            ("unique_clickers", COUNT),
            ("click_to_open_rate", RATIO),
        ),
        "campaign_links": dimension(
            ("campaign", LABEL), ("link", LABEL), ("clicks", COUNT), ("unique_clickers", COUNT)
        ),
    }


# The visit length tables: name, unit of their min_/max_ columns, and the scale's lowest value
# followed by the inclusive upper bounds of its closed ranges.
VISIT_LENGTHS = [
    ("visit_durations", "seconds", [0, 0, 10, 30, 60, 180, 600, 1800]),
    ("visit_pageviews", "pageviews", [1, 1, 2, 3, 5, 10, 20]),
]

THRESHOLD_ON = {
    "traffic_hourly": "clients",
    "traffic_daily": "clients",
    "traffic_weekly": "clients",
    "traffic_monthly": "clients",
    "not_found": "clients",
    "status_codes": "clients",
    "bots": "clients",
    "response_times": "clients",
    "campaigns": "recipients",
    "campaign_links": "recipients",
}

EPOCH_ID = {
    "hour": re.compile(r"^h-\d{4}-\d{2}-\d{2}T\d{2}$"),
    "day": re.compile(r"^d-\d{4}-\d{2}-\d{2}$"),
    "week": re.compile(r"^w-\d{4}-W\d{2}$"),
    "month": re.compile(r"^m-\d{4}-\d{2}$"),
}

INT_RE = re.compile(r"^(0|[1-9][0-9]*)$")
RATE_RE = re.compile(r"^[01]\.[0-9]{4}$")
RATIO_RE = re.compile(r"^(0|[1-9][0-9]*)\.[0-9]{4}$")
MS_RE = re.compile(r"^(0|[1-9][0-9]*)\.[0-9]$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HOUR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):00:00(Z|[+-]\d{2}:\d{2})$")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
STATUS_RE = re.compile(r"^([1-9][0-9]{2}|\(other\))$")
COUNTRY_RE = re.compile(r"^([A-Z]{2}|\(unknown\)|\(other\))$")
VERSION_RE = re.compile(r"^[0-9]*$")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Checker:
    def __init__(self, expected_k):
        self.expected_k = expected_k
        self.problems = []
        self.files = 0
        self.rows = 0
        self.duckdb = duckdb.connect()

    def fail(self, where, message):
        self.problems.append(f"{where}: {message}")

    # MARK: cells

    def check_cell(self, where, kind, value):
        if value.startswith(FORMULA_STARTS):
            self.fail(where, f"cell {value!r} starts with a formula character")
        if kind == COUNT:
            if not INT_RE.match(value):
                self.fail(where, f"{value!r} is not a non-negative integer")
        elif kind == OPTCOUNT:
            if value != "" and not INT_RE.match(value):
                self.fail(where, f"{value!r} is not a non-negative integer (or empty)")
        elif kind == RATIO:
            if value != "" and not RATIO_RE.match(value):
                self.fail(where, f"{value!r} is not a ratio with four decimals (or empty)")
        elif kind == MS:
            if not MS_RE.match(value):
                self.fail(where, f"{value!r} is not milliseconds with one decimal")
        elif kind == RATE:
            if value != "" and (not RATE_RE.match(value) or float(value) > 1.0):
                self.fail(where, f"{value!r} is not a rate in [0, 1] with four decimals (or empty)")
        elif kind in (DATE, WEEK):
            if not DATE_RE.match(value):
                self.fail(where, f"{value!r} is not an ISO 8601 date")
            else:
                try:
                    d = datetime.date.fromisoformat(value)
                    if kind == WEEK and d.weekday() != 0:
                        self.fail(where, f"week start {value} is not a Monday")
                except ValueError:
                    self.fail(where, f"{value!r} is not a valid date")
        elif kind == HOUR:
            m = HOUR_RE.match(value)
            if not m:
                self.fail(where, f"{value!r} is not an ISO 8601 hour (YYYY-MM-DDTHH:00:00Z or ±HH:MM)")
            else:
                try:
                    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    self.fail(where, f"{value!r} is not a valid time")
        elif kind == MONTH:
            if not MONTH_RE.match(value):
                self.fail(where, f"{value!r} is not a month YYYY-MM")
        elif kind == LABEL:
            if value == "":
                self.fail(where, "empty label")
        elif kind == VERSION:
            if not VERSION_RE.match(value):
                self.fail(where, f"{value!r} is not a major version number (or empty)")
        elif kind == STATUS:
            if not STATUS_RE.match(value):
                self.fail(where, f"{value!r} is not a status code or (other)")
        elif kind == COUNTRY:
            if not COUNTRY_RE.match(value):
                self.fail(where, f"{value!r} is not a country code, (unknown) or (other)")

    def check_row(self, where, row):
        """Arithmetic that every row of veil's tables satisfies."""

        def n(name):
            v = row.get(name)
            return int(v) if v is not None and INT_RE.match(v) else None

        requests, bots = n("requests"), n("bot_requests")
        if requests is not None and bots is not None and bots > requests:
            self.fail(where, f"bot_requests {bots} > requests {requests}")
        visits, bounces = n("visits"), n("bounces")
        if visits is not None and bounces is not None:
            if bounces > visits:
                self.fail(where, f"bounces {bounces} > visits {visits}")
            rate = row.get("bounce_rate")
            if visits == 0 and rate != "":
                self.fail(where, f"bounce_rate {rate!r} without visits")
            if visits > 0 and rate is not None and RATE_RE.match(rate):
                if abs(float(rate) - bounces / visits) > 0.00005 + 1e-12:
                    self.fail(where, f"bounce_rate {rate} is not bounces/visits = {bounces}/{visits}")
        classes = [n(f"status_{c}xx") for c in range(1, 6)]
        if requests is not None and all(c is not None for c in classes):
            if sum(classes) != requests:
                self.fail(where, f"status classes sum to {sum(classes)}, requests = {requests}")
            pageviews = n("pageviews")
            if pageviews is not None and pageviews > requests - bots:
                self.fail(where, f"pageviews {pageviews} > non-bot requests {requests - bots}")
        # A web campaign's or referrer's visits entered through one of its pageviews.
        if ("source" in row or "referrer_host" in row) and None not in (visits, n("pageviews")):
            if visits > n("pageviews"):
                self.fail(where, f"visits {visits} > pageviews {n('pageviews')}")
        # Serving times: the percentiles rise.
        ps = [row.get(c) for c in ("p50_ms", "p90_ms", "p99_ms")]
        if all(p is not None and MS_RE.match(p) for p in ps):
            if not float(ps[0]) <= float(ps[1]) <= float(ps[2]):
                self.fail(where, f"percentiles {ps} do not rise")
        # Visit lengths: a row's range is not empty, and its visits have at least its lowest
        # pageviews (and at most its highest) each.
        for unit in ("seconds", "pageviews"):
            low, high = n("min_" + unit), n("max_" + unit)
            if low is not None and high is not None and high < low:
                self.fail(where, f"max_{unit} {high} < min_{unit} {low}")
        low, high, pageviews = n("min_pageviews"), n("max_pageviews"), n("pageviews")
        if None not in (low, visits, pageviews):
            if pageviews < low * visits or (high is not None and pageviews > high * visits):
                self.fail(where, f"{pageviews} pageviews for {visits} visits of {low} to {high} pageviews")
        # E-mail tables.
        clicks, clickers = n("clicks"), n("unique_clickers")
        if clicks is not None and clickers is not None and clickers > clicks:
            self.fail(where, f"unique_clickers {clickers} > clicks {clicks}")
        human, proxy, openers = n("human_opens"), n("proxy_opens"), n("unique_openers")
        if None not in (human, proxy, openers) and openers > human + proxy:
            self.fail(where, f"unique_openers {openers} > human + proxy opens {human + proxy}")
        ctor = row.get("click_to_open_rate")
        if ctor is not None and openers is not None and clickers is not None:
            if openers == 0 and ctor != "":
                self.fail(where, f"click_to_open_rate {ctor!r} without openers")
            if openers > 0 and RATIO_RE.match(ctor or "") and abs(float(ctor) - clickers / openers) > 0.00005 + 1e-12:
                self.fail(where, f"click_to_open_rate {ctor} is not unique_clickers/unique_openers = {clickers}/{openers}")

    # MARK: files

    def check_csv(self, path, name, columns):
        where = f"{path}"
        raw = open(path, "rb").read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail(where, f"not UTF-8: {e}")
            return None
        if raw.startswith(b"\xef\xbb\xbf"):
            self.fail(where, "starts with a byte-order mark")
        # RFC 4180: CRLF after every record, the last one included. veil's cells never hold CR
        # or LF (paths and hosts come from single log lines), so any other CR or LF is wrong.
        if not raw.endswith(b"\r\n"):
            self.fail(where, "does not end with CRLF")
        if b"\n" in raw.replace(b"\r\n", b"") or b"\r" in raw.replace(b"\r\n", b""):
            self.fail(where, "has a record end other than CRLF")
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        if not records:
            self.fail(where, "no header row")
            return None
        header, body = records[0], records[1:]
        expected = [c for c, _ in columns]
        if header != expected:
            self.fail(where, f"header {header} != documented {expected}")
            return None
        for i, rec in enumerate(body, start=2):
            rw = f"{where}:{i}"
            if len(rec) != len(header):
                self.fail(rw, f"{len(rec)} fields, header has {len(header)}")
                continue
            for (col, kind), value in zip(columns, rec):
                self.check_cell(f"{rw} [{col}]", kind, value)
            self.check_row(rw, dict(zip(header, rec)))
        self.check_duckdb(path, columns, body)
        self.files += 1
        self.rows += len(body)
        return header, body

    def check_duckdb(self, path, columns, body):
        where = f"{path} (duckdb)"
        try:
            source = "read_csv_auto('" + path.replace("'", "''") + "', header = true)"
            rel = self.duckdb.sql(f"SELECT * FROM {source}")
            names = list(rel.columns)
            types = [str(t) for t in rel.types]
            count = self.duckdb.sql(f"SELECT count(*) FROM {source}").fetchall()[0][0]
        except Exception as e:  # noqa: BLE001 - any DuckDB failure breaks the contract
            self.fail(where, f"does not load: {e}")
            return
        expected = [c for c, _ in columns]
        if names != expected:
            self.fail(where, f"columns {names} != {expected}")
            return
        if count != len(body):
            self.fail(where, f"{count} rows, csv module read {len(body)}")
        if not body:
            return  # no rows: DuckDB has nothing to infer types from (all VARCHAR)
        for i, ((col, kind), t) in enumerate(zip(columns, types)):
            if all(rec[i] == "" for rec in body if len(rec) == len(columns)):
                continue  # an all-empty column (e.g. bounce_rate of bot-only hours) types as VARCHAR
            ok = t in DUCKDB_TYPES[kind] or (kind in (RATE, RATIO) and t.startswith("DECIMAL"))
            if not ok:
                self.fail(where, f"column {col} typed {t}, expected one of {sorted(DUCKDB_TYPES[kind])}")

    def check_dir(self, directory):
        manifest_path = os.path.join(directory, "manifest.json")
        try:
            manifest = json.load(open(manifest_path, encoding="utf-8"))
        except (OSError, ValueError) as e:
            self.fail(manifest_path, f"cannot read: {e}")
            return
        granularity = manifest.get("key_epoch_granularity")
        if granularity not in EPOCH_ID:
            self.fail(manifest_path, f"key_epoch_granularity {granularity!r} is not hour, day, week or month")
            granularity = "day"
        documented = tables(granularity)
        # countries.csv: only from states that counted countries (--geoip).
        if os.path.exists(os.path.join(directory, "countries.csv")):
            documented["countries"] = [("site", LABEL), ("date", DATE), ("country", COUNTRY), ("pageviews", COUNT),
                                       ("visitors", COUNT)]
        # Serving times: only from states whose inputs logged them.
        times = [("mean_ms", MS), ("p50_ms", MS), ("p90_ms", MS), ("p99_ms", MS)]
        if os.path.exists(os.path.join(directory, "response_times.csv")):
            documented["response_times"] = [("site", LABEL), ("date", DATE), ("requests", COUNT)] + times
            documented["page_response_times"] = [("site", LABEL), ("date", DATE), ("path", LABEL),
                                                 ("pageviews", COUNT)] + times

        if manifest.get("classification") != "anonymous":
            self.fail(manifest_path, f"classification {manifest.get('classification')!r} != 'anonymous'")
        if manifest.get("schema_version") != 1:
            self.fail(manifest_path, f"schema_version {manifest.get('schema_version')!r} != 1")
        k = manifest.get("k")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            self.fail(manifest_path, f"k {k!r} is not a positive integer")
        elif self.expected_k is not None and k != self.expected_k:
            self.fail(manifest_path, f"k {k} != {self.expected_k}")
        epochs = manifest.get("key_epochs")
        if not isinstance(epochs, list) or not epochs:
            self.fail(manifest_path, f"key_epochs {epochs!r} is not a non-empty list")
        else:
            for e in epochs:
                if not isinstance(e, str) or not EPOCH_ID[granularity].match(e):
                    self.fail(manifest_path, f"key epoch id {e!r} is not of the form {EPOCH_ID[granularity].pattern}")
            if epochs != sorted(epochs):
                self.fail(manifest_path, "key_epochs are not sorted")
        listed = manifest.get("tables")
        if not isinstance(listed, dict):
            self.fail(manifest_path, "tables is not an object")
            listed = {}
        if set(listed) != set(documented):
            self.fail(manifest_path, f"tables {sorted(listed)} != documented {sorted(documented)}")
        present = sorted(f for f in os.listdir(directory) if f.endswith(".csv"))
        wanted = sorted(t + ".csv" for t in documented)
        if present != wanted:
            self.fail(directory, f"CSV files {present} != documented {wanted}")

        loaded = {}
        for name, columns in documented.items():
            info = listed.get(name)
            if not isinstance(info, dict):
                self.fail(manifest_path, f"table {name} not listed")
                info = {}
            file_name = info.get("file")
            if file_name != name + ".csv":
                self.fail(manifest_path, f"table {name}: file {file_name!r} != {name + '.csv'!r}")
            if info and info.get("columns") != [c for c, _ in columns]:
                self.fail(manifest_path, f"table {name}: columns {info.get('columns')} != header contract")
            for field in ("rows", "rows_suppressed", "rows_folded_into_other"):
                v = info.get(field)
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    self.fail(manifest_path, f"table {name}: {field} {v!r} is not a count")
            if isinstance(info.get("rows_folded_into_other"), int) and isinstance(info.get("rows_suppressed"), int):
                if info["rows_folded_into_other"] > info["rows_suppressed"]:
                    self.fail(manifest_path, f"table {name}: more rows folded than suppressed")
            expected_threshold = THRESHOLD_ON.get(name, "visitors")
            if info and info.get("threshold_on") != expected_threshold:
                self.fail(manifest_path, f"table {name}: threshold_on {info.get('threshold_on')!r} != {expected_threshold!r}")
            path = os.path.join(directory, name + ".csv")
            if not os.path.exists(path):
                self.fail(path, "missing")
                continue
            result = self.check_csv(path, name, columns)
            if result is not None and isinstance(info.get("rows"), int) and info["rows"] != len(result[1]):
                self.fail(manifest_path, f"table {name}: rows {info['rows']} but the file has {len(result[1])}")
            if result is not None:
                loaded[name] = [dict(zip(result[0], rec)) for rec in result[1] if len(rec) == len(result[0])]
        self.check_visit_lengths(directory, loaded)
        self.check_bots(directory, loaded)
        self.check_response_times(directory, loaded)

    def check_response_times(self, directory, loaded):
        """Timed requests are some of a day's requests; timed pageviews some of a page's."""
        for name, base, keys, count in (("response_times", "traffic_daily", ("site", "date"), "requests"),
                                        ("page_response_times", "pages", ("site", "date", "path"), "pageviews")):
            if name not in loaded:
                continue
            totals = {tuple(r[k] for k in keys): r[count] for r in loaded.get(base, [])}
            for r in loaded[name]:
                key = tuple(r[k] for k in keys)
                where = os.path.join(directory, name + ".csv")
                if key not in totals:
                    self.fail(where, f"row {key} has no row in {base}.csv")
                elif int(r[count]) > int(totals[key]):
                    self.fail(where, f"row {key}: {r[count]} timed {count} > {totals[key]} in {base}.csv")

    def check_bots(self, directory, loaded):
        """Each (site, date) of the bots table: rows by requests (descending), (other) last,
        adding up to at most the day's bot_requests in traffic_daily, and to exactly that when
        (other) is published."""
        rows = loaded.get("bots")
        if rows is None:
            return
        where = os.path.join(directory, "bots.csv")
        daily = {(r["site"], r["date"]): r["bot_requests"] for r in loaded.get("traffic_daily", [])}
        by_day = {}
        for r in rows:
            by_day.setdefault((r["site"], r["date"]), []).append(r)
        for key, day in by_day.items():
            if not all(INT_RE.match(r["requests"]) for r in day):
                self.fail(where, f"{key}: a requests cell is not a count")
                continue
            named = [int(r["requests"]) for r in day if r["bot"] != "(other)"]
            if named != sorted(named, reverse=True):
                self.fail(where, f"{key}: rows are not sorted by requests")
            if any(r["bot"] == "(other)" for r in day[:-1]):
                self.fail(where, f"{key}: (other) is not the last row")
            total = sum(int(r["requests"]) for r in day)
            if key not in daily or not INT_RE.match(daily[key]):
                self.fail(where, f"{key}: no traffic_daily row for a day with bot rows")
                continue
            bot_requests = int(daily[key])
            if total > bot_requests or (day[-1]["bot"] == "(other)" and total != bot_requests):
                self.fail(where, f"{key}: rows count {total} requests, traffic_daily bot_requests {bot_requests}")

    def check_visit_lengths(self, directory, loaded):
        """Each (site, date) of a visit length table: rows in order that tile the scale from its
        lowest value to an open end, on the scale's bounds, and count the day's visits."""
        daily_visits = {(r["site"], r["date"]): r["visits"] for r in loaded.get("traffic_daily", [])}
        for name, unit, bounds in VISIT_LENGTHS:
            rows = loaded.get(name)
            if rows is None:
                continue
            where = os.path.join(directory, name + ".csv")
            by_day = {}
            order = []
            for r in rows:
                key = (r["site"], r["date"])
                if key not in by_day:
                    order.append(key)
                by_day.setdefault(key, []).append(r)
            if order != sorted(order, key=lambda k: (k[0].encode("utf-8"), k[1])):
                self.fail(where, "rows are not sorted by site (bytes), then date")
            for key, day in by_day.items():
                if [r for r in rows if (r["site"], r["date"]) == key] != day:
                    self.fail(where, f"{key}: rows of one site and date are not together")
                expected_low = bounds[0]
                for i, r in enumerate(day):
                    low, high = r["min_" + unit], r["max_" + unit]
                    if low != str(expected_low):
                        self.fail(where, f"{key}: a row starts at {low}, expected {expected_low}")
                    if i == len(day) - 1:
                        if high != "":
                            self.fail(where, f"{key}: the last row ends at {high}, not open")
                    elif not INT_RE.match(high) or int(high) not in bounds[1:]:
                        self.fail(where, f"{key}: a row ends at {high!r}, not a bound of the scale")
                    else:
                        expected_low = int(high) + 1
                visits = sum(int(r["visits"]) for r in day if INT_RE.match(r["visits"]))
                if key in daily_visits and str(visits) != daily_visits[key]:
                    self.fail(where, f"{key}: rows count {visits} visits, traffic_daily {daily_visits[key]}")


def main(argv):
    expected_k = None
    dirs = []
    i = 0
    while i < len(argv):
        if argv[i] == "--k" and i + 1 < len(argv):
            expected_k = int(argv[i + 1])
            i += 2
        elif argv[i].startswith("-"):
            sys.stderr.write(__doc__)
            return 2
        else:
            dirs.append(argv[i])
            i += 1
    if not dirs:
        sys.stderr.write(__doc__)
        return 2
    checker = Checker(expected_k)
    for d in dirs:
        if not os.path.isdir(d):
            checker.fail(d, "not a directory")
            continue
        checker.check_dir(d)
    for p in checker.problems:
        print(p)
    if checker.problems:
        print(f"FAILED: {len(checker.problems)} problem(s)")
        return 1
    print(f"ok: {len(dirs)} rollup dir(s), {checker.files} CSV files, {checker.rows} rows (duckdb {duckdb.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
