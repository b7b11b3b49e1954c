#!/usr/bin/env python3
"""veil on Apache Spark: `veil aggregate` per input file in Spark tasks, `veil merge` in a tree
on the executors, `veil report` on the driver.

    spark-submit veil_spark.py --veil /opt/veil/bin/veil --keys /etc/veil/keys \\
        -o hdfs:///rollups/2026-11-28 'hdfs:///logs/2026-11-28/*.zst' -- --site www.example.com

Everything after `--` is passed to `veil aggregate` on every executor (format, site, time zone,
e-mail options, ...). See README.md beside this file.

How it works:
 1. Inputs (paths, globs, URIs, @list files) are listed on the driver. Each input is one task.
 2. Keys: `veil aggregate` creates a missing epoch key on first use, and every executor would
    create a different one. So the driver makes sure every key the data needs exists *before*
    the store is shipped: it learns the time range from `--keys-from/--keys-until`, or from a
    first Spark pass of `veil inspect --json` over the inputs, and runs `veil keys ensure`.
    Executors run `veil aggregate --no-new-keys` and never create a key.
 3. The `veil` binary and the key store are shipped with `SparkContext.addFile` (or are already
    on the executors: `--executor-veil`, `--executor-keys`). Each task copies the store into a
    private temporary directory (0700, files 0600) and removes it when done.
 4. Each task runs `veil aggregate` on its file (a local path is read directly; any other URI is
    read through Spark, `binaryFiles`, and fed to `veil aggregate -` with `--input-name`, so
    the state records the input under the same name) and returns the state bytes as its result.
 5. States are merged with `veil merge` in a tree of fan-in `--merge-fanin` on the executors;
    the bytes travel through Spark's shuffle, never through a directory of ours.
 6. The driver writes the merged state (`--state`, optional) and runs `veil report`.

Failure handling is Spark's: a failed task is retried (`spark.task.maxFailures`). A retried task
recomputes its state from its input; `veil merge` refuses two states covering the same input,
so an input can never be counted twice, and the driver checks that the final state covers
exactly the inputs it listed.
"""

import argparse
import contextlib
import datetime
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

# Options of `veil aggregate` that `veil inspect` understands too (all take a value): the
# key-range pass must parse the logs exactly as the aggregation will.
INSPECT_OPTIONS = {
    "--format", "--email-fields", "--max-line-length", "--from", "--until",
    "--email-open-pattern", "--email-click-pattern",
}

URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
ISO = "%Y-%m-%dT%H:%M:%SZ"
MARK = "veil-spark:"


class UsageError(Exception):
    pass


class DriverError(Exception):
    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------------
# Executor side. Everything below runs in Python workers; it needs only the standard library.
# ---------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _task_dir():
    """A private (0700) temporary directory for one task, removed afterwards."""
    base = None
    for d in (os.environ.get("SPARK_LOCAL_DIRS") or "").split(","):
        if d and os.path.isdir(d) and os.access(d, os.W_OK):
            base = d
            break
    path = tempfile.mkdtemp(prefix="veil-task-", dir=base)
    try:
        os.chmod(path, 0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _executor_path(kind, value):
    """Where a shipped file, or a file already on the executor, is. A relative path is looked up
    in the task's working directory, then in Spark's file root (where `--files` and unpacked
    `--archives` land outside YARN)."""
    from pyspark import SparkFiles
    if kind == "shipped":
        return SparkFiles.get(value)
    if os.path.isabs(value) or os.path.exists(value):
        return value
    candidate = os.path.join(SparkFiles.getRootDirectory(), value)
    return candidate if os.path.exists(candidate) else value


def _veil_binary(cfg, work):
    path = _executor_path(*cfg["veil"])
    if not os.access(path, os.X_OK):
        # Files fetched by Spark may lack the execute bit: use a private executable copy.
        copy = os.path.join(work, "veil")
        shutil.copyfile(path, copy)
        os.chmod(copy, 0o700)
        path = copy
    return path


def _private_key_store(cfg, work):
    """Copies the shipped or mounted key store into `work/keys` (0700, files 0600).

    veil refuses a store readable by group or others, and refuses symbolic links; the copy Spark
    fetched, or a Kubernetes secret volume (0644 files behind `..data` links), is neither.
    Only the store's own files are copied: keystore.json, *.key, *.shredded.
    """
    src = _executor_path(*cfg["keys"])
    dst = os.path.join(work, "keys")
    os.mkdir(dst, 0o700)
    os.chmod(dst, 0o700)
    names = os.listdir(src) if os.path.isdir(src) else []
    names = [n for n in names
             if not n.startswith(".") and (n == "keystore.json" or n.endswith(".key") or n.endswith(".shredded"))]
    if "keystore.json" not in names:
        raise RuntimeError(f"{MARK} no veil key store at {src} on this executor (keystore.json is missing)")
    for name in names:
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        fd = os.open(os.path.join(dst, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        finally:
            os.close(fd)
    return dst


def _run_veil(cmd, what, stdin=None):
    """Runs veil; raises with veil's own error lines (which never hold an identifier)."""
    p = subprocess.run(cmd, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{MARK} {what}: veil {cmd[1]} exited with status {p.returncode}: {err}")
    return p


def _maybe_fail(cfg, stage, key):
    """Test hook (--fail-once): the first attempt of the named task raises after its work."""
    if (stage, key) not in cfg["fail_once"]:
        return
    from pyspark import TaskContext
    ctx = TaskContext.get()
    if ctx is not None and ctx.attemptNumber() == 0:
        msg = f"{MARK} injected failure: {stage} task {key}, attempt {ctx.attemptNumber()} (Spark retries it)"
        print(msg, file=sys.stderr, flush=True)
        raise RuntimeError(msg)


def _source_args(name, source, record_name=True):
    """The input argument(s) of a veil command for one input, and its standard input.

    A local path is read by veil itself; bytes read by Spark go to standard input. With
    `record_name`, `--input-name` makes the state record the input under its listed name."""
    kind, value = source
    args, stdin = ([value], None) if kind == "path" else (["-"], value)
    if record_name and args[0] != name:
        args.append(f"--input-name={name}")
    return args, stdin


def _inspect_partition(cfg):
    def run(items):
        for idx, name, source in items:
            with _task_dir() as work:
                veil = _veil_binary(cfg, work)
                args, stdin = _source_args(name, source, record_name=False)
                cmd = [veil, "inspect"] + args + ["--json", "--quiet"] + cfg["inspect_args"]
                p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=None if stdin is not None else subprocess.DEVNULL)
                reports = json.loads(p.stdout.decode() or "[]") if p.stdout.strip() else []
                report = reports[0] if reports else {}
                if p.returncode != 0 and not (cfg["skip_bad_files"] and report.get("error")):
                    err = p.stderr.decode("utf-8", "replace").strip()
                    raise RuntimeError(f"{MARK} inspect {name}: veil inspect exited with status {p.returncode}: {err}")
            _maybe_fail(cfg, "inspect", idx)
            yield (idx, report.get("first_timestamp"), report.get("last_timestamp"), report.get("records", 0))
    return run


def _aggregate_partition(cfg):
    def run(items):
        for idx, name, source in items:
            with _task_dir() as work:
                veil = _veil_binary(cfg, work)
                keys = _private_key_store(cfg, work)
                out = os.path.join(work, "input.veilstate")
                args, stdin = _source_args(name, source)
                cmd = ([veil, "aggregate"] + args +
                       ["-o", out, "--keys", keys, "--no-new-keys", "--json", "--threads", str(cfg["threads"])] +
                       cfg["aggregate_args"])
                p = _run_veil(cmd, f"aggregate {name}", stdin)
                summary = json.loads(p.stdout.decode())
                notes = [line[len("veil: "):] if line.startswith("veil: ") else line
                         for line in p.stderr.decode("utf-8", "replace").splitlines()
                         if line.strip() and "→" not in line]
                with open(out, "rb") as f:
                    state = f.read()
            _maybe_fail(cfg, "aggregate", idx)
            info = {
                "name": name,
                "lines": summary.get("lines", 0),
                "records": summary.get("records", 0),
                "rejected": summary.get("rejected", 0),
                "skipped": [s.get("error") or name for s in summary.get("skipped_inputs", [])],
                "notes": notes,
            }
            yield (idx, (state, [info]))
    return run


def _merge_partition(cfg, level):
    def run(pid, items):
        items = sorted(items, key=lambda kv: kv[1][0])
        if not items:
            return
        if len(items) == 1:
            yield (pid, items[0][1][1])
            return
        infos = []
        with _task_dir() as work:
            veil = _veil_binary(cfg, work)
            paths = []
            for _, (old, (state, info)) in items:
                path = os.path.join(work, f"{old}.veilstate")
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(state)
                paths.append(path)
                infos.extend(info)
            out = os.path.join(work, "merged.veilstate")
            _run_veil([veil, "merge"] + paths + ["-o", out, "--quiet"],
                      f"merge (level {level}, group {pid}, {len(paths)} states)")
            with open(out, "rb") as f:
                merged = f.read()
        _maybe_fail(cfg, "merge", (level, pid))
        yield (pid, (merged, infos))
    return run


def _check_keys_partition(cfg, ranges):
    """Runs `veil keys ensure --check` for every range on an executor's private copy."""
    def run(_):
        with _task_dir() as work:
            veil = _veil_binary(cfg, work)
            keys = _private_key_store(cfg, work)
            for start, end in ranges:
                _run_veil([veil, "keys", "ensure", "--check", "--keys", keys, "--from", start, "--until", end],
                          "key check")
        yield True
    return run


# ---------------------------------------------------------------------------------------------
# Driver side.
# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    if "--" in argv:
        cut = argv.index("--")
        own, passthrough = argv[:cut], argv[cut + 1:]
    else:
        own, passthrough = argv, []
    p = argparse.ArgumentParser(
        prog="veil_spark.py",
        description="Run veil's aggregate/merge/report on Apache Spark. Arguments after `--` go to "
                    "`veil aggregate` on the executors (e.g. -- --format combined --site www.example.com).",
        epilog="Example: spark-submit veil_spark.py --veil /opt/veil/bin/veil --keys /etc/veil/keys "
               "-o hdfs:///rollups/2026-11-28 'hdfs:///logs/2026-11-28/*.zst'")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="log file, glob or URI (hdfs://, s3a://, file:, ...; globs are expanded), or @FILE "
                        "with one input per line")
    p.add_argument("-o", "--output", required=True,
                   help="rollup directory (a local path on the driver, or a Hadoop URI)")
    p.add_argument("--keys", help="key store on the driver: missing keys are created in it, then it is "
                                  "shipped to the executors")
    p.add_argument("--executor-keys", metavar="PATH",
                   help="key store already present on every executor at PATH (e.g. a secret volume); "
                        "nothing is shipped or created, the needed keys are checked")
    p.add_argument("--veil", default=os.environ.get("VEIL_BIN"),
                   help="veil binary on the driver, shipped to the executors (default: $VEIL_BIN, else "
                        "veil on PATH)")
    p.add_argument("--executor-veil", metavar="PATH",
                   help="veil binary already installed on every executor (not shipped)")
    p.add_argument("--state", help="also write the merged state (pseudonymous, mode 0600) here")
    p.add_argument("--k", type=int, default=10, help="publish a row only with at least K distinct visitors")
    p.add_argument("--keys-from", metavar="TIME",
                   help="with --keys-until: create/check keys for this UTC range instead of inspecting the inputs")
    p.add_argument("--keys-until", metavar="TIME", help="end of that range (exclusive)")
    p.add_argument("--no-ensure-keys", action="store_true",
                   help="skip the key step: every needed key already exists (executors still never create one)")
    p.add_argument("--max-key-span-days", type=float, default=400,
                   help="refuse to create keys for a range the inputs say is longer than this (default 400)")
    p.add_argument("--stream-inputs", action="store_true",
                   help="read local inputs through Spark too, as for other URIs (default: executors open "
                        "local paths themselves)")
    p.add_argument("--merge-fanin", type=int, default=8, help="states merged per merge task (default 8)")
    p.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2,4]")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                   help="Spark configuration when not run by spark-submit (repeatable)")
    p.add_argument("--log-level", default="WARN", help="Spark log level (default WARN)")
    p.add_argument("--fail-once", action="append", default=[], metavar="STAGE:N",
                   help="testing: make the first attempt of one task fail after its work "
                        "(aggregate:INPUT_INDEX, merge:LEVEL:GROUP, inspect:INPUT_INDEX)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on standard output")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = p.parse_args(own)
    args.passthrough = passthrough

    for a in passthrough:
        if a.split("=", 1)[0] in ("-o", "--output", "--keys", "--no-new-keys", "--input-name", "--json", "--quiet"):
            p.error(f"{a.split('=', 1)[0]} after -- is set by the driver itself")
    if (args.keys is None) == (args.executor_keys is None):
        p.error("give exactly one of --keys (ship the driver's store) and --executor-keys (mounted on executors)")
    if (args.keys_from is None) != (args.keys_until is None):
        p.error("--keys-from and --keys-until go together")
    if args.merge_fanin < 2:
        p.error("--merge-fanin must be at least 2")
    if args.k < 2:
        p.error("--k must be at least 2")
    # The driver runs veil itself (keys, the final check, the report) even when the executors
    # have their own copy (--executor-veil).
    if args.veil is None:
        args.veil = shutil.which("veil")
    if args.veil is None or not os.path.isfile(args.veil):
        p.error("veil binary not found on the driver: give --veil PATH or set VEIL_BIN")
    fail_once = set()
    for spec in args.fail_once:
        parts = spec.split(":")
        try:
            if parts[0] in ("aggregate", "inspect") and len(parts) == 2:
                fail_once.add((parts[0], int(parts[1])))
            elif parts[0] == "merge" and len(parts) == 3:
                fail_once.add(("merge", (int(parts[1]), int(parts[2]))))
            else:
                raise ValueError
        except ValueError:
            p.error(f"--fail-once {spec}: expected aggregate:N, inspect:N or merge:LEVEL:GROUP")
    args.fail_once_set = fail_once
    if args.keys_from is not None and parse_time(args.keys_from) >= parse_time(args.keys_until):
        p.error("--keys-from must be before --keys-until")
    return args


def parse_time(text):
    """`2026-11-28` or `2026-11-28T06:00:00Z` → UTC seconds."""
    for fmt in ("%Y-%m-%d", ISO):
        try:
            return int(datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc).timestamp())
        except ValueError:
            pass
    raise UsageError(f"'{text}' is not a date or an ISO 8601 UTC time (2026-11-28 or 2026-11-28T06:00:00Z)")


def iso(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(ISO)


def is_uri(spec):
    return bool(URI_RE.match(spec)) and not re.match(r"^[A-Za-z]:[\\/]", spec)


def expand_inputs(sc, specs):
    """(name, source) per input: name is what the state records (the path or URI as listed),
    source is ('path', local path) or ('uri', Hadoop URI)."""
    listed = []
    for spec in specs:
        if spec.startswith("@"):
            with open(spec[1:], encoding="utf-8") as f:
                listed.extend(line.strip() for line in f if line.strip() and not line.startswith("#"))
        else:
            listed.append(spec)
    out = []
    for spec in listed:
        if spec == "-":
            raise UsageError("standard input cannot be an input of a Spark job; give files")
        if is_uri(spec):
            jvm = sc._jvm
            path = jvm.org.apache.hadoop.fs.Path(spec)
            fs = path.getFileSystem(sc._jsc.hadoopConfiguration())
            statuses = fs.globStatus(path)
            files = sorted(str(s.getPath().toString()) for s in (statuses or []) if s.isFile())
            if not files:
                raise UsageError(f"no input matches {spec}")
            out.extend((f, ("uri", f)) for f in files)
        else:
            if glob.has_magic(spec):
                files = sorted(f for f in glob.glob(spec) if os.path.isfile(f))
                if not files:
                    raise UsageError(f"no input matches {spec}")
            elif os.path.isfile(spec):
                files = [spec]
            else:
                raise UsageError(f"input {spec} does not exist or is not a file")
            out.extend((f, ("path", os.path.abspath(f))) for f in files)
    seen = {}
    for name, _ in out:
        if name in seen:
            raise UsageError(f"input {name} is listed twice; an input is counted once")
        seen[name] = True
    return out


def inspect_args(passthrough):
    """The part of the `veil aggregate` options that `veil inspect` takes."""
    out, i = [], 0
    while i < len(passthrough):
        a = passthrough[i]
        opt = a.split("=", 1)[0]
        if opt in INSPECT_OPTIONS:
            if "=" in a:
                out.append(a)
            elif i + 1 < len(passthrough):
                out.extend([a, passthrough[i + 1]])
                i += 1
        i += 1
    return out


def local_veil(args, cmd, what, stdin=None):
    p = subprocess.run([args.veil] + cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=None if stdin is not None else subprocess.DEVNULL)
    if p.returncode != 0:
        raise DriverError(f"{what}: veil {cmd[0]} exited with status {p.returncode}: "
                          f"{p.stderr.decode('utf-8', 'replace').strip()}", status=p.returncode)
    return p


def preflight(args):
    """Checks on the driver, before Spark work, that the binary runs and accepts the options."""
    with _task_dir() as work:
        keys = os.path.join(work, "keys")
        local_veil(args, ["keys", "init", "--keys", keys], "preflight")
        try:
            local_veil(args, ["aggregate", "-", "-o", os.path.join(work, "empty.veilstate"), "--keys", keys,
                              "--no-new-keys", "--quiet", "--threads", "1"] + args.passthrough,
                       "preflight (the options after --)", stdin=b"")
        except DriverError as e:
            if "--no-new-keys" in str(e) or "--input-name" in str(e):
                raise DriverError(f"{e}\n(this veil is too old for the Spark driver: it needs "
                                  "`veil aggregate --no-new-keys --input-name`)")
            if e.status == 2:
                raise UsageError(str(e))
            raise


def check_output_outside_keys(args):
    if args.keys is None or is_uri(args.output):
        return
    keys = os.path.realpath(args.keys)
    out = os.path.realpath(args.output)
    if out == keys or out.startswith(keys + os.sep) or keys.startswith(out + os.sep):
        raise UsageError(f"output directory {args.output} and key store {args.keys} must not contain each other")


def merge_ranges(ranges, slack=0):
    ranges = sorted(ranges)
    merged = []
    for start, end in ranges:
        if merged and start <= merged[-1][1] + slack:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


class Run:
    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.sc = None
        self.group = "veil-spark-" + uuid.uuid4().hex[:12]

    # -- Spark setup --------------------------------------------------------------------------

    def start_spark(self):
        from pyspark.sql import SparkSession
        b = SparkSession.builder.appName("veil")
        if self.args.master:
            b = b.master(self.args.master)
        for kv in self.args.conf:
            if "=" not in kv:
                raise UsageError(f"--conf {kv}: expected KEY=VALUE")
            k, v = kv.split("=", 1)
            b = b.config(k, v)
        self.spark = b.getOrCreate()
        self.sc = self.spark.sparkContext
        self.sc.setLogLevel(self.args.log_level)
        if __name__ != "__main__":
            # Imported as a module: the executors need it to unpickle the task functions.
            self.sc.addPyFile(os.path.abspath(__file__))
        self.sc.setJobGroup(self.group, "veil", interruptOnCancel=False)

    def cfg(self, **extra):
        a = self.args
        c = {
            "veil": ("path", a.executor_veil) if a.executor_veil else ("shipped", os.path.basename(a.veil)),
            "keys": ("path", a.executor_keys) if a.executor_keys else
                    ("shipped", os.path.basename(os.path.normpath(a.keys))),
            "aggregate_args": a.passthrough,
            "inspect_args": inspect_args(a.passthrough),
            "skip_bad_files": "--skip-bad-files" in a.passthrough,
            "threads": max(1, int(self.sc.getConf().get("spark.task.cpus", "1"))),
            "fail_once": a.fail_once_set,
        }
        c.update(extra)
        return c

    def ship_binary(self):
        if not self.args.executor_veil:
            self.sc.addFile(os.path.abspath(self.args.veil))

    def ship_keys(self):
        a = self.args
        if a.executor_keys:
            return
        keys_name = os.path.basename(os.path.normpath(a.keys))
        if not a.executor_veil and keys_name == os.path.basename(a.veil):
            raise UsageError("the key store directory and the veil binary must have different names "
                             "(Spark ships files by name)")
        self.sc.addFile(os.path.abspath(a.keys), recursive=True)

    # -- inputs ---------------------------------------------------------------------------------

    def input_rdd(self, inputs):
        """An RDD of (index, name, source) with one input per partition; remote inputs (and all
        with --stream-inputs) carry their bytes, read by Spark."""
        sc = self.sc
        direct, streamed = [], []
        for i, (name, (kind, value)) in enumerate(inputs):
            if kind == "path" and not self.args.stream_inputs:
                direct.append((i, name, ("path", value)))
            else:
                uri = value if kind == "uri" else "file://" + value
                streamed.append((i, name, uri))
        rdds = []
        if direct:
            rdds.append(sc.parallelize(direct, len(direct)))
        for i, name, uri in streamed:
            rdds.append(sc.binaryFiles(uri, 1).map(lambda kv, i=i, name=name: (i, name, ("bytes", bytes(kv[1])))))
        rdd = rdds[0] if len(rdds) == 1 else sc.union(rdds)
        return rdd

    # -- keys ---------------------------------------------------------------------------------

    def key_ranges(self, inputs):
        """UTC [from, until) ranges the inputs' records need keys for."""
        a = self.args
        if a.keys_from is not None:
            return [(parse_time(a.keys_from), parse_time(a.keys_until))], "given"
        self.sc.setJobDescription("veil inspect (time range of every input, for the keys)")
        found = self.input_rdd(inputs).mapPartitions(_inspect_partition(self.cfg())).collect()
        ranges = []
        for _, first, last, records in found:
            if not first or not records:
                continue
            start = max(parse_time(first), 0)
            end = parse_time(last) + 1
            if end > start:
                ranges.append((start, end))
        # Ranges less than a day apart are joined: a key for an epoch without data is harmless.
        return merge_ranges(ranges, slack=86400), "inspected"

    def ensure_keys(self, inputs):
        a = self.args
        if a.no_ensure_keys:
            self.log("keys: not checked (--no-ensure-keys)")
            return {"mode": "skipped"}
        ranges, how = self.key_ranges(inputs)
        if not ranges:
            self.log("keys: the inputs hold no records; no key is needed")
            return {"mode": how, "ranges": [], "created": 0, "existing": 0}
        span_days = sum(e - s for s, e in ranges) / 86400
        if how == "inspected" and span_days > a.max_key_span_days:
            raise DriverError(
                f"the inputs' records span {span_days:.0f} days ({iso(ranges[0][0])} … {iso(ranges[-1][1])}), "
                f"more than --max-key-span-days {a.max_key_span_days:g}; give --keys-from/--keys-until")
        shown = [(iso(s), iso(e)) for s, e in ranges]
        if a.executor_keys:
            self.sc.setJobDescription("veil keys ensure --check (on an executor's copy of the store)")
            self.sc.parallelize([0], 1).mapPartitions(_check_keys_partition(self.cfg(), shown)).collect()
            self.log(f"keys: every epoch of {', '.join(f'{s} … {e}' for s, e in shown)} has a key on the executors")
            return {"mode": how, "ranges": shown, "checked": True}
        created = existing = 0
        epochs = []
        for s, e in shown:
            p = local_veil(a, ["keys", "ensure", "--keys", a.keys, "--from", s, "--until", e, "--json"], "keys ensure")
            r = json.loads(p.stdout)
            created += r["created"]
            existing += r["existing"]
            epochs.extend(x["epoch"] for x in r["epochs"] if x["epoch"] not in epochs)
        self.log(f"keys: {len(epochs)} epoch{'s' if len(epochs) != 1 else ''} "
                 f"({epochs[0]} … {epochs[-1]}): created {created}, {existing} already existed")
        return {"mode": how, "ranges": shown, "created": created, "existing": existing, "epochs": epochs}

    # -- aggregate and merge ----------------------------------------------------------------------

    def aggregate_and_merge(self, inputs):
        a = self.args
        cfg = self.cfg()
        self.sc.setJobDescription("veil aggregate + merge")
        states = self.input_rdd(inputs).mapPartitions(_aggregate_partition(cfg)).setName("veil aggregate")
        n = len(inputs)
        level = 0
        fanin = a.merge_fanin
        while n > 1:
            level += 1
            m = math.ceil(n / fanin)
            states = (states
                      .map(lambda kv, f=fanin: (kv[0] // f, kv))
                      .partitionBy(m, lambda k: k)
                      .mapPartitionsWithIndex(_merge_partition(cfg, level))
                      .setName(f"veil merge level {level}"))
            n = m
        result = states.collect()
        if len(result) != 1:
            raise DriverError(f"internal error: the merge tree ended with {len(result)} states")
        return result[0][1], level

    def failed_attempts(self):
        """Task attempts that failed (and were retried) in this run's Spark jobs."""
        tracker = self.sc.statusTracker()
        total = 0
        for _ in range(20):
            jobs = tracker.getJobIdsForGroup(self.group)
            infos = [tracker.getJobInfo(j) for j in jobs]
            if all(i is not None and i.status in ("SUCCEEDED", "FAILED") for i in infos):
                break
            time.sleep(0.1)
        for j in tracker.getJobIdsForGroup(self.group):
            info = tracker.getJobInfo(j)
            for s in (info.stageIds if info else []):
                st = tracker.getStageInfo(s)
                if st is not None:
                    total += st.numFailedTasks
        return total

    # -- output -----------------------------------------------------------------------------------

    def hadoop_put(self, local_files, dest_dir, mode=None):
        jvm = self.sc._jvm
        conf = self.sc._jsc.hadoopConfiguration()
        Path = jvm.org.apache.hadoop.fs.Path
        dest = Path(dest_dir)
        fs = dest.getFileSystem(conf)
        fs.mkdirs(dest)
        # manifest.json last: a reader that sees it sees complete tables.
        for local in sorted(local_files, key=lambda f: os.path.basename(f) == "manifest.json"):
            target = Path(dest, os.path.basename(local))
            fs.copyFromLocalFile(False, True, Path("file://" + local), target)
            if mode is not None:
                fs.setPermission(target, jvm.org.apache.hadoop.fs.permission.FsPermission(mode))

    def write_state(self, state):
        a = self.args
        if is_uri(a.state):
            with _task_dir() as work:
                name = a.state.rstrip("/").rsplit("/", 1)[-1]
                local = os.path.join(work, name)
                with open(os.open(local, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                    f.write(state)
                self.hadoop_put([local], a.state.rstrip("/").rsplit("/", 1)[0], mode=0o600)
            return
        directory = os.path.dirname(os.path.abspath(a.state))
        tmp = os.path.join(directory, f".{os.path.basename(a.state)}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(state)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, a.state)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def report(self, state, expected_inputs):
        a = self.args
        with _task_dir() as work:
            path = os.path.join(work, "merged.veilstate")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                f.write(state)
            # The final state must cover exactly the listed inputs (no loss, nothing twice).
            m = json.loads(local_veil(a, ["merge", path, "-o", os.path.join(work, "check.veilstate"), "--json"],
                                      "state check").stdout)
            if m["inputs"] != expected_inputs:
                raise DriverError(f"the merged state covers {m['inputs']} inputs, expected {expected_inputs}")
            target = a.output
            if is_uri(a.output):
                target = os.path.join(work, "rollups")
            r = json.loads(local_veil(a, ["report", path, "-o", target, "--k", str(a.k), "--json"], "report").stdout)
            if is_uri(a.output):
                self.hadoop_put([os.path.join(target, f) for f in os.listdir(target)], a.output)
            return r, m

    # -- the whole job ------------------------------------------------------------------------------

    def run(self):
        a = self.args
        started = time.monotonic()
        check_output_outside_keys(a)
        preflight(a)
        self.start_spark()
        inputs = expand_inputs(self.sc, a.inputs)
        direct = sum(1 for _, s in inputs if s[0] == "path" and not a.stream_inputs)
        self.log(f"{len(inputs)} input{'s' if len(inputs) != 1 else ''}: {direct} opened by the executors "
                 f"from a local path, {len(inputs) - direct} read through Spark")
        self.ship_binary()
        keys = self.ensure_keys(inputs)
        self.ship_keys()
        (state, infos), levels = self.aggregate_and_merge(inputs)
        failed = self.failed_attempts()
        for info in sorted(infos, key=lambda i: i["name"]):
            for note in info["notes"]:
                self.log(note)
        skipped = [s for i in infos for s in i["skipped"]]
        if a.state:
            self.write_state(state)
        release, merged = self.report(state, len(inputs) - len(skipped))
        seconds = time.monotonic() - started
        summary = {
            "inputs": len(inputs),
            "skipped_inputs": skipped,
            "lines": sum(i["lines"] for i in infos),
            "records": sum(i["records"] for i in infos),
            "rejected": sum(i["rejected"] for i in infos),
            "merge_levels": levels,
            "merge_fanin": a.merge_fanin,
            "failed_task_attempts": failed,
            "keys": keys,
            "state": a.state,
            "state_bytes": len(state),
            "output": a.output,
            "tables": len(release["tables"]),
            "rows": sum(t["rows"] for t in release["tables"]),
            "seconds": round(seconds, 2),
        }
        self.log(f"{summary['inputs']} inputs, {summary['lines']:,} lines, {summary['records']:,} records, "
                 f"{summary['rejected']:,} rejected; {levels} merge level{'s' if levels != 1 else ''} "
                 f"(fan-in {a.merge_fanin}); {failed} failed task attempt{'s' if failed != 1 else ''} retried; "
                 f"{summary['tables']} tables, {summary['rows']:,} rows → {a.output} in {seconds:.1f} s")
        return summary


def spark_error_message(e):
    """veil's own error lines out of a Spark/Py4J exception, else its first line."""
    text = str(e)
    lines = []
    for line in text.splitlines():
        i = line.find(MARK)
        if i >= 0:
            msg = line[i:].strip()
            if msg not in lines and "injected failure" not in msg:
                lines.append(msg)
    if lines:
        return "\n".join(lines[:5])
    return text.strip().splitlines()[0] if text.strip() else repr(e)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
    except UsageError as e:
        print(f"veil-spark: error: {e}", file=sys.stderr)
        return 2

    def log(msg):
        if not args.quiet:
            print(f"veil-spark: {msg}", file=sys.stderr, flush=True)

    run = Run(args, log)
    try:
        summary = run.run()
    except UsageError as e:
        print(f"veil-spark: error: {e}", file=sys.stderr)
        return 2
    except DriverError as e:
        print(f"veil-spark: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # Spark job failures arrive as Py4JJavaError and friends.
        if type(e).__name__ in ("Py4JJavaError", "PythonException", "SparkException") or MARK in str(e):
            print(f"veil-spark: error: the Spark job failed: {spark_error_message(e)}", file=sys.stderr)
            return 1
        raise
    finally:
        if run.sc is not None:
            run.spark.stop()
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
