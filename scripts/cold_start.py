"""Init time of each function against a hello-world lambda_runtime binary: from process start to
the runtime's first GET /2018-06-01/runtime/invocation/next on a fake Runtime API.

Usage: cold_start.py --env FILE --bin NAME=PATH... --baseline PATH [--runs N] [--out FILE]
  FILE: JSON {binary name: {env var: value}} (scripts/local_stack env).
Runs are interleaved (baseline, every function, baseline, ...) so load on a shared machine
falls on all of them alike; the ratio of medians is what to read. Beside the wall time, each
start's page faults, how much of its binary is mapped, and its CPU time (all threads, user and
kernel) at its first `next`, read from /proc (Linux): they say whether a gap is work the binary
does or the kernel mapping the binary's pages.
"""

import argparse
import collections
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

NEXT = "/2018-06-01/runtime/invocation/next"


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.first_next = None
        self.called = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        now = time.perf_counter_ns()
        if self.path == NEXT and not self.server.called.is_set():
            self.server.first_next = now
            self.server.called.set()
        # No event is ever served: the process is killed once it has asked.
        time.sleep(5)

    def log_message(self, *_):
        pass


# One start: init wall time, and the counters at its first `next` (None without /proc).
Start = collections.namedtuple("Start", "ms faults cpu_ms mapped_kb")


def mapped_kb(pid, path):
    """How much of the binary file is mapped into the process (the pages its start touched,
    and their neighbours the kernel maps along with them)."""
    total, current = 0, None
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split(None, 5)
            if fields and "-" in fields[0] and len(fields) >= 5:
                current = fields[5].rstrip("\n") if len(fields) > 5 else None
            elif fields and fields[0] == "Rss:" and current == path:
                total += int(fields[1])
    return total


def counters(pid, path):
    """Minor page faults, CPU ms (every thread's run time, from schedstat) and the binary's
    mapped KB of a live process; None where /proc does not have them."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            faults = int(f.read().rsplit(")", 1)[1].split()[7])
        cpu_ns = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                cpu_ns += int(f.read().split()[0])
        return faults, cpu_ns / 1e6, mapped_kb(pid, os.path.realpath(path))
    except (OSError, ValueError, IndexError):
        return None, None, None


def init_ms(path, env):
    """One start: its init wall time in ms, with its counters."""
    api = RuntimeApi()
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(os.path.dirname(path)) or "function",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cold-start",
        "AWS_LAMBDA_LOG_STREAM_NAME": "cold-start",
        **env,
    }
    start = time.perf_counter_ns()
    process = subprocess.Popen([path], env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not api.called.wait(timeout=20):
            process.kill()
            err = process.communicate()[1].decode(errors="replace")[-2000:]
            raise SystemExit(f"{path} never asked for an event; stderr:\n{err}")
        ms = (api.first_next - start) / 1e6
        # The process is blocked on the unanswered `next`, so these are its init's.
        return Start(ms, *counters(process.pid, path))
    finally:
        process.kill()
        process.wait()
        api.shutdown()
        api.server_close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", required=True)
    parser.add_argument("--bin", action="append", required=True, help="NAME=PATH")
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out")
    args = parser.parse_args()
    with open(args.env, encoding="utf-8") as f:
        envs = json.load(f)
    bins = dict(b.split("=", 1) for b in args.bin)
    base_env = {k: v for k, v in os.environ.items() if k.startswith("AWS_") and not k.startswith("AWS_LAMBDA_")}
    samples = {name: [] for name in ["baseline", *bins]}
    # The same binaries on the platform's certificate store (TI_TLS_ROOTS=native), which
    # rustls-native-certs loads by reading every file of the certificate directory (146 on
    # Debian): the cost the default, compiled-in roots avoid.
    native = {name: [] for name in bins}
    for _ in range(args.runs):
        samples["baseline"].append(init_ms(args.baseline, base_env))
        for name, path in bins.items():
            samples[name].append(init_ms(path, {**base_env, **envs[name]}))
            native[name].append(init_ms(path, {**base_env, **envs[name], "TI_TLS_ROOTS": "native"}))

    def p90(xs):
        return sorted(xs)[max(0, round(0.9 * len(xs)) - 1)]

    def median_of(starts, field):
        values = [getattr(x, field) for x in starts if getattr(x, field) is not None]
        return statistics.median(values) if values else None

    def shown(value, digits):
        return "n/a" if value is None else f"{value:.{digits}f}"

    base = median_of(samples["baseline"], "ms")
    lines = [
        f"Init, process start to first `next`, {args.runs} interleaved runs each ({time.strftime('%Y-%m-%d')}):",
        "",
        "| binary | init median ms | p90 ms | vs hello world | page faults | binary mapped KB | CPU ms "
        "| native roots: median ms | vs hello world |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, starts in samples.items():
        median = median_of(starts, "ms")
        label = "hello world (`lambda_runtime`)" if name == "baseline" else f"`{name}`"
        row = (
            f"| {label} | {median:.2f} | {p90([x.ms for x in starts]):.2f} | {median / base:.2f}x "
            f"| {shown(median_of(starts, 'faults'), 0)} | {shown(median_of(starts, 'mapped_kb'), 0)} "
            f"| {shown(median_of(starts, 'cpu_ms'), 2)} |"
        )
        if name in native:
            only = median_of(native[name], "ms")
            row += f" {only:.2f} | {only / base:.2f}x |"
        else:
            row += " | |"
        lines.append(row)
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(report + "\n")
    worst = max(median_of(xs, "ms") for name, xs in samples.items() if name != "baseline") / base
    worst_native = max(median_of(xs, "ms") for xs in native.values()) / base
    print(f"\nslowest function: {worst:.2f}x hello world (goal: at most 1.5x); "
          f"{worst_native:.2f}x on the platform's certificate store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
