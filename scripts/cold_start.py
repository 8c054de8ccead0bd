"""Init time of each function against a hello-world lambda_runtime binary: from process start to
the runtime's first GET /2018-06-01/runtime/invocation/next on a fake Runtime API.

Usage: cold_start.py --env FILE --bin NAME=PATH... --baseline PATH [--runs N] [--out FILE]
  FILE: JSON {binary name: {env var: value}} (scripts/local_stack env).
Runs are interleaved (baseline, every function, baseline, ...) so load on a shared machine
falls on all of them alike; the ratio of medians is what to read.
"""

import argparse
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


def init_ms(path, env):
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
        return (api.first_next - start) / 1e6
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

    base = statistics.median(samples["baseline"])
    lines = [
        f"Init, process start to first `next`, {args.runs} interleaved runs each ({time.strftime('%Y-%m-%d')}):",
        "",
        "| binary | init median ms | p90 ms | vs hello world | native roots: median ms | vs hello world |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, xs in samples.items():
        median = statistics.median(xs)
        label = "hello world (`lambda_runtime`)" if name == "baseline" else f"`{name}`"
        row = f"| {label} | {median:.2f} | {p90(xs):.2f} | {median / base:.2f}x |"
        if name in native:
            only = statistics.median(native[name])
            row += f" {only:.2f} | {only / base:.2f}x |"
        else:
            row += " | |"
        lines.append(row)
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(report + "\n")
    worst = max(statistics.median(xs) for name, xs in samples.items() if name != "baseline") / base
    worst_native = max(statistics.median(xs) for xs in native.values()) / base
    print(f"\nslowest function: {worst:.2f}x hello world (goal: at most 1.5x); "
          f"{worst_native:.2f}x on the platform's certificate store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
