"""The local full stack's Python side (run by scripts/local-stack.sh):

  provision  create the template's resources locally; write outputs.json, the functions'
             environment, the local keys and cargo lambda watch's router (cargo-lambda.toml)
  env        each function's environment only, creating nothing (scripts/cold-start.sh)
  watch      exec cargo lambda watch with the functions' environment
  poll       run the event source mappings (SQS queues, DynamoDB streams) against cargo lambda's
             Invoke API
"""

import argparse
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import threading

import boto3
from botocore.config import Config

import poller
import provision
import streams
import template as tpl

ACCOUNT = "000000000000"  # LocalStack's


def _clients():
    """Endpoints from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB, as for the functions."""
    region = os.environ["AWS_REGION"]
    s3 = boto3.client("s3", region_name=region, config=Config(s3={"addressing_style": "path"}))
    return s3, boto3.client("sqs", region_name=region), boto3.client("dynamodb", region_name=region)


def _streams_client():
    """DynamoDB Streams at DynamoDB's own endpoint (DynamoDB Local serves both)."""
    region = os.environ["AWS_REGION"]
    endpoint = boto3.client("dynamodb", region_name=region).meta.endpoint_url
    return boto3.client("dynamodbstreams", region_name=region, endpoint_url=endpoint)


def _local_keys(path):
    """Dummy keys for the local stack, made once: what the template reads from Secrets Manager."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    pem = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        check=True, capture_output=True, text=True,
    ).stdout
    keys = {
        "result_key_id": "local-" + secrets.token_hex(4),
        "result_key_pem": pem,
        "appendix_secret": base64.b64encode(secrets.token_bytes(32)).decode(),
        "dvs_api_key": "local",
        "bank_api_key": "local",
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(keys, f)
    return keys


def _toml_string(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def _router_toml(router):
    lines = ["# Written by scripts/local-stack.sh from infra/template.yaml's HTTP API routes.", "[watch.router]"]
    for path, entries in sorted(router.items()):
        items = ", ".join(f"{{ method = {_toml_string(e['method'])}, function = {_toml_string(e['function'])} }}"
                          for e in entries)
        lines.append(f"{_toml_string(path)} = [{items}]")
    return "\n".join(lines) + "\n"


def _stack(args):
    """The template as the local stack "total-identity-<stage>", and its localize function."""
    os.makedirs(args.out, exist_ok=True)
    region = os.environ["AWS_REGION"]
    stack = tpl.Stack(tpl.load(args.template), {"Stage": args.stage}, {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": f"total-identity-{args.stage}",
    })
    provision.physical_names(stack, ACCOUNT, region)
    public_url = stack.eval(stack.template["Outputs"]["PublicUrl"]["Value"])

    def localize(value):
        if isinstance(value, str):
            return value.replace(public_url, args.local_url)
        if isinstance(value, list):
            return [localize(v) for v in value]
        if isinstance(value, dict):
            return {k: localize(v) for k, v in value.items()}
        return value

    return stack, localize, region


def log(line):
    print(f"local-stack: {line}", flush=True)


def cmd_env(args):
    """Each function's environment as {binary: {name: value}}, creating nothing (cold starts)."""
    stack, localize, _ = _stack(args)
    provision.stand_ins(stack, os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566").rstrip("/"))
    keys = _local_keys(os.path.join(args.out, "keys.json"))
    envs = {fn["binary"]: fn["env"] for fn in provision.functions(stack, keys, localize).values()}
    fd = os.open(args.write, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(envs, f, indent=1)


def cmd_provision(args):
    stack, localize, region = _stack(args)
    s3, sqs, dynamodb = _clients()
    provision.create_queues(stack, sqs, log)
    provision.create_table(stack, dynamodb, log)
    provision.create_bucket(stack, s3, region, localize, log)
    keys = _local_keys(os.path.join(args.out, "keys.json"))
    functions = provision.functions(stack, keys, localize)

    queue_urls = {stack.attributes[(n, "Arn")]: stack.refs[n] for n, _ in stack.of_type("AWS::SQS::Queue")}
    for name, fn in functions.items():
        for m in fn["sqs"]:
            m["queue_url"] = queue_urls[m["queue_arn"]]
        for m in fn["dynamodb"]:
            if m["on_failure_arn"] and m["on_failure_arn"] not in queue_urls:
                raise SystemExit(f"{name}: on-failure destination {m['on_failure_arn']} is not a queue of the template")
            m["on_failure_url"] = queue_urls.get(m["on_failure_arn"])
    env = {}
    for name, fn in functions.items():
        for key, value in fn.pop("env").items():
            if env.get(key, value) != value:
                raise SystemExit(f"{name}: {key} differs between functions; cargo lambda watch has one environment")
            env[key] = value
    fd = os.open(os.path.join(args.out, "functions-env.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(env, f, indent=1)
    with open(os.path.join(args.out, "cargo-lambda.toml"), "w", encoding="utf-8") as f:
        f.write(_router_toml(provision.routes(stack)))
    outputs = {
        "api_url": args.local_url,
        "table": next(stack.refs[n] for n, _ in stack.of_type("AWS::DynamoDB::Table")),
        "bucket": next(stack.refs[n] for n, _ in stack.of_type("AWS::S3::Bucket")),
        "queues": {n: {"url": stack.refs[n], "arn": stack.attributes[(n, "Arn")]}
                   for n, _ in stack.of_type("AWS::SQS::Queue")},
        "functions": functions,
        "python": sys.executable,
        "tool": os.path.dirname(os.path.abspath(__file__)),
        "local_differences": provision.LOCAL_DIFFERENCES,
    }
    with open(os.path.join(args.out, "outputs.json"), "w", encoding="utf-8") as f:
        json.dump(outputs, f, indent=1)
    for line in provision.LOCAL_DIFFERENCES:
        log(f"local difference: {line}")


def cmd_watch(args):
    with open(os.path.join(args.out, "functions-env.json"), encoding="utf-8") as f:
        env = dict(os.environ, **json.load(f))
    os.execvpe(args.command[0], args.command, env)


def cmd_poll(args):
    with open(os.path.join(args.out, "outputs.json"), encoding="utf-8") as f:
        outputs = json.load(f)
    if args.mappings:
        with open(args.mappings, encoding="utf-8") as f:
            specs = json.load(f)
    else:
        specs = [dict(m, function=fn["binary"], timeout=fn["timeout"])
                 for fn in outputs["functions"].values() for m in fn["sqs"] + fn.get("dynamodb", [])]
    _, sqs, _ = _clients()
    streams_client = _streams_client() if any("stream_arn" in s for s in specs) else None
    region = os.environ["AWS_REGION"]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = []
    for spec in specs:
        if "stream_arn" in spec:  # a DynamoDB stream mapping
            mapping = streams.Mapping(streams_client, sqs, spec, spec["function"], spec["timeout"], region,
                                      args.invoke_url, args.journal)
            print(f"local-stack: reading {spec['stream_arn']} -> {spec['function']} (batch {spec['batch_size']}, "
                  f"from {spec['starting_position']}, filters {json.dumps(spec['filter_patterns'])}, "
                  f"on failure {spec.get('on_failure_url')})", flush=True)
            threads += mapping.start(stop)
            continue
        concurrency = max(1, min(spec["maximum_concurrency"], args.concurrency))
        mapping = poller.Mapping(sqs, spec["queue_url"], spec["queue_arn"], spec["function"], spec["timeout"],
                                 spec["batch_size"], spec["report_batch_item_failures"], concurrency, region,
                                 args.invoke_url, args.journal)
        print(f"local-stack: polling {spec['queue_url']} -> {spec['function']} "
              f"(batch {spec['batch_size']}, {concurrency} at a time)", flush=True)
        threads += mapping.start(stop)
    stop.wait()
    for t in threads:
        t.join(timeout=poller.WAIT_SECONDS + 60)


def main():
    parser = argparse.ArgumentParser(prog="local_stack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for cmd, run in (("provision", cmd_provision), ("env", cmd_env)):
        p = sub.add_parser(cmd)
        p.add_argument("--template", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--stage", default="local")
        p.add_argument("--local-url", required=True)
        if cmd == "env":
            p.add_argument("--write", required=True, help="where the JSON goes")
        p.set_defaults(run=run)
    w = sub.add_parser("watch")
    w.add_argument("--out", required=True)
    w.add_argument("command", nargs=argparse.REMAINDER)
    w.set_defaults(run=cmd_watch)
    q = sub.add_parser("poll")
    q.add_argument("--out", required=True)
    q.add_argument("--invoke-url", required=True)
    q.add_argument("--concurrency", type=int, default=2, help="cargo lambda watch's instances per function")
    q.add_argument("--mappings", help="JSON list of mappings instead of the template's (tests); "
                   "those with stream_arn are DynamoDB stream mappings")
    q.add_argument("--journal", help="append one JSON line per batch. SQS: {function, invoked_ok, messages: "
                   "[{id, body, receive_count, failed}]}; streams: {function, event_source: aws:dynamodb, shard, "
                   "invoked_ok, records: [{sequence_number, keys, failed}]}, and {..., gave_up, sequence_numbers} "
                   "when a batch goes to the on-failure destination")
    q.set_defaults(run=cmd_poll)
    args = parser.parse_args()
    if getattr(args, "command", None) and args.command[0] == "--":
        args.command = args.command[1:]
    args.run(args)


if __name__ == "__main__":
    main()
