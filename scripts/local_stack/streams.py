"""Lambda's DynamoDB stream event source mapping, locally: reads a table's stream from DynamoDB
Local (its Streams API) and invokes a function through cargo lambda's Invoke API, the way AWS does:

- the shards come from DescribeStream; each is read in order by its own thread, one batch in
  flight at a time (ParallelizationFactor 1); a child shard is read once its parent is done
  (closed, i.e. no NextShardIterator, and every record handled);
- StartingPosition TRIM_HORIZON reads every retained record; LATEST only what comes after the
  mapping starts (shards that appear later are read from their start);
- FilterCriteria: a record goes to the function only if it matches one of the patterns
  (EventBridge syntax over the record as Lambda shows it); the others are skipped for good;
- a batch is at most BatchSize matching records, as Lambda's DynamoDB event;
- a function error (non-200, X-Amz-Function-Error, timeout) fails the whole batch; with
  BisectBatchOnFunctionError the batch is split in two and the halves are retried one after
  the other (a split is not a retry, so a bad record ends up alone);
- with ReportBatchItemFailures the response names sequence numbers: an empty, absent or null
  list is success; otherwise the records before the lowest one named are done and the batch is
  retried from it; an empty or unknown identifier, or an unreadable response, fails it all;
- a failing batch is retried, backing off, up to MaximumRetryAttempts times; records older
  than MaximumRecordAgeInSeconds are not retried (-1: no limit for either); then the batch's
  metadata goes to the OnFailure SQS destination in AWS's shape and the shard moves past it.
"""

import base64
import datetime
import json
import threading
import time
import uuid

import poller

POLL_SECONDS = 0.25  # AWS polls each shard 4 times a second
DISCOVER_SECONDS = 1  # DescribeStream, for new (child) shards
RETRY_BASE_SECONDS = 0.5  # AWS's backoff schedule is not documented: doubling, capped
RETRY_CAP_SECONDS = 30

# ---------------------------------------------------------------- filter patterns

_LITERALS = (str, int, float, bool, type(None))


def check_pattern(pattern, path="pattern"):
    """ValueError for what the local filter does not implement, rather than ignoring it: only
    nested objects, arrays of exact values and {"exists": true|false} are supported."""
    if not isinstance(pattern, dict) or not pattern:
        raise ValueError(f"{path}: must be a non-empty object")
    for key, value in pattern.items():
        where = f"{path}.{key}"
        if key.startswith("$"):
            raise ValueError(f"{where}: {key} is not supported by the local stack")
        if isinstance(value, dict):
            check_pattern(value, where)
        elif isinstance(value, list) and value:
            for matcher in value:
                if isinstance(matcher, dict):
                    if list(matcher) != ["exists"] or not isinstance(matcher["exists"], bool):
                        raise ValueError(f"{where}: {json.dumps(matcher)} is not supported by the local stack "
                                         '(only exact values and {"exists": true|false})')
                elif not isinstance(matcher, _LITERALS):
                    raise ValueError(f"{where}: {json.dumps(matcher)} is not an exact value")
        else:
            raise ValueError(f"{where}: must be an object or a non-empty array of values")


def matches(pattern, event):
    """EventBridge matching: every key of the pattern matches; a leaf matches if any of its values
    does; an array in the event matches if any element does. {"exists": b} asks whether a leaf
    value (not an object) is at that path, as in EventBridge."""
    for key, want in pattern.items():
        present = isinstance(event, dict) and key in event
        value = event[key] if present else None
        if isinstance(want, dict):
            inner = (value or [{}]) if isinstance(value, list) else [value]
            if not any(matches(want, v if isinstance(v, dict) else {}) for v in inner):
                return False
        elif not any(_leaf_matches(m, present, value) for m in want):
            return False
    return True


def _leaf_matches(matcher, present, value):
    if isinstance(matcher, dict):
        return matcher["exists"] == (present and not isinstance(value, dict))
    if not present:
        return False
    return any(_same(matcher, v) for v in (value if isinstance(value, list) else [value]))


def _same(a, b):
    # JSON's true is not 1 (Python's True == 1).
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------- records and responses

def _plain(value):
    """boto3's values as JSON: binary as base64, datetimes as epoch seconds."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        seconds = value.timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def lambda_record(raw, stream_arn, region):
    """A GetRecords record as a Lambda DynamoDB event record."""
    record = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": _plain(raw["dynamodb"]),
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:  # TTL deletions
        record["userIdentity"] = _plain(raw["userIdentity"])
    return record


def first_failure(ok, body, sequence_numbers, report_batch_item_failures):
    """Index of the first record to retry, or None when the whole batch is done."""
    if not ok:
        return 0
    if not report_batch_item_failures:
        return None
    try:
        items = poller.reported_failures(body)
    except ValueError:
        return 0
    positions = {seq: i for i, seq in enumerate(sequence_numbers)}
    if any(item not in positions for item in items):
        return 0
    return min((positions[item] for item in items), default=None)


def _iso(epoch, millis=False):
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds" if millis else "seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- the mapping

class Batch:
    """A run of pending records owed an invocation: its size, counted retries, invocations so far
    and the last invocation's responseContext (halves of a split inherit all but the size)."""

    def __init__(self, size, retries=0, invokes=0, response=None):
        self.size, self.retries, self.invokes, self.response = size, retries, invokes, response or {}


class Shard:
    """Reads one shard in order and hands its matching records to the function, batch by batch."""

    def __init__(self, mapping, shard_id, position):
        self.m, self.shard_id, self.position = mapping, shard_id, position
        self.iterator = None
        self.closed = False  # no NextShardIterator: nothing more will be read
        self.last_read = None  # sequence number of the last record read, to renew the iterator
        self.pending = []  # matching records read and not yet done, in order
        self.plan = []  # batches owed a retry (bisected halves, partial failures); empty: a fresh one

    def step(self):
        """Reads, then handles one batch. None when there was nothing to do, else the seconds to
        wait before the next step (a retry's backoff)."""
        # Whatever is there now, up to BatchSize (no batching window): read until a page is empty.
        while len(self.pending) < self.m.batch_size and not self.closed and self.read():
            pass
        if not self.pending:
            return None
        return self.handle()

    def run(self, stop):
        """Until stopped, or the shard is closed and every record handled (True)."""
        while not stop.is_set():
            try:
                delay = self.step()
            except Exception as e:  # noqa: BLE001 - a poller keeps polling, like AWS's
                self.m.log(f"{self.shard_id}: {type(e).__name__}: {e}")
                stop.wait(1)
                continue
            if delay is None and self.closed:
                return True
            stop.wait(POLL_SECONDS if delay is None else delay)
        return False

    def read(self):
        """One GetRecords page; how many records it had (filtered or not)."""
        if self.iterator is None:
            self.iterator = self._iterator()
        try:
            page = self.m.streams.get_records(ShardIterator=self.iterator, Limit=1000)
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            if code == "ExpiredIteratorException":  # 15 minutes old, e.g. after long retries
                self.iterator = self._iterator()
                return 0
            if code == "TrimmedDataAccessException":  # past the 24 h retention: restart at the oldest
                self.m.log(f"{self.shard_id}: records trimmed; reading on from TRIM_HORIZON")
                self.last_read, self.position, self.iterator = None, "TRIM_HORIZON", None
                return 0
            raise
        for raw in page["Records"]:
            self.last_read = raw["dynamodb"]["SequenceNumber"]
            record = lambda_record(raw, self.m.stream_arn, self.m.region)
            if not self.m.patterns or any(matches(p, record) for p in self.m.patterns):
                self.pending.append(record)
        self.iterator = page.get("NextShardIterator")
        self.closed = self.iterator is None
        return len(page["Records"])

    def _iterator(self):
        args = {"StreamArn": self.m.stream_arn, "ShardId": self.shard_id}
        if self.last_read:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.last_read)
        else:
            args["ShardIteratorType"] = self.position
        return self.m.streams.get_shard_iterator(**args)["ShardIterator"]

    def handle(self):
        if not self.plan:
            self.plan.append(Batch(min(self.m.batch_size, len(self.pending))))
        batch = self.plan[0]
        expired = self._expired(self.pending[:batch.size])
        if expired:  # too old to be sent (again)
            self._give_up(self.pending[:expired], "RecordAgeExceeded", batch)
            self._done(expired)
            return 0
        records = self.pending[:batch.size]
        status, error, body = self.m.invoke(self.m.invoke_url, self.m.function, {"Records": records},
                                            self.m.timeout + 30)  # slack for a fresh instance's start
        ok = status == 200 and not error
        batch.invokes += 1
        batch.response = {"statusCode": status or 200, "executedVersion": "$LATEST"}
        if not ok:
            batch.response["functionError"] = error or "Unhandled"
        first = first_failure(ok, body, [r["dynamodb"]["SequenceNumber"] for r in records], self.m.report)
        self._journal(records, ok, first)
        if first is None:
            self._done(batch.size)
            return 0
        if not ok and self.m.bisect and batch.size > 1:
            half = (batch.size + 1) // 2
            self.plan[0:1] = [Batch(half, batch.retries, batch.invokes, batch.response),
                              Batch(batch.size - half, batch.retries, batch.invokes, batch.response)]
            return 0
        self._done(first)  # the records before the first failure are done
        batch.retries += 1
        if 0 <= self.m.max_retries < batch.retries:
            self._give_up(self.pending[:batch.size], "RetryAttemptsExhausted", batch)
            self._done(batch.size)
            return 0
        return min(RETRY_BASE_SECONDS * 2 ** (batch.retries - 1), RETRY_CAP_SECONDS)

    def _done(self, count):
        """Moves the checkpoint past the first count pending records (of the planned batch)."""
        del self.pending[:count]
        batch = self.plan[0]
        batch.size -= count
        if batch.size <= 0:
            self.plan.pop(0)

    def _expired(self, records):
        """How many of the records (oldest first) are past MaximumRecordAgeInSeconds."""
        if self.m.max_age < 0:
            return 0
        cutoff = time.time() - self.m.max_age
        return sum(1 for r in records if r["dynamodb"]["ApproximateCreationDateTime"] < cutoff)

    def _give_up(self, records, condition, batch):
        """The on-failure record, as AWS sends it; sent before the checkpoint moves, so that a
        failed send is tried again."""
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.m.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.invokes,
            },
            "responseContext": batch.response,
            "version": "1.0",
            "timestamp": _iso(time.time(), millis=True),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
                "batchSize": len(records),
                "streamArn": self.m.stream_arn,
            },
        }
        if self.m.on_failure_url:
            self.m.sqs.send_message(QueueUrl=self.m.on_failure_url, MessageBody=json.dumps(message))
        where = self.m.on_failure_url or "no on-failure destination: discarded"
        self.m.log(f"{self.shard_id}: gave up on {len(records)} records "
                   f"{first['SequenceNumber']}..{last['SequenceNumber']} ({condition}) -> {where}")
        poller.append_journal(self.m.journal, {
            "function": self.m.function, "event_source": "aws:dynamodb", "shard": self.shard_id,
            "gave_up": condition, "sequence_numbers": [r["dynamodb"]["SequenceNumber"] for r in records],
        })

    def _journal(self, records, ok, first):
        poller.append_journal(self.m.journal, {
            "function": self.m.function, "event_source": "aws:dynamodb", "shard": self.shard_id,
            "invoked_ok": ok,
            "records": [{
                "sequence_number": r["dynamodb"]["SequenceNumber"],
                "keys": r["dynamodb"]["Keys"],
                "failed": first is not None and i >= first,
            } for i, r in enumerate(records)],
        })


class Mapping:
    """One DynamoDB stream mapping: a spec from provision.functions (with on_failure_url), for
    the function's binary. invoke is poller.call, or a stand-in in tests."""

    def __init__(self, streams, sqs, spec, function, timeout, region, invoke_url, journal=None, invoke=poller.call,
                 log=None):
        self.streams, self.sqs = streams, sqs
        self.stream_arn = spec["stream_arn"]
        self.position = spec["starting_position"]
        if self.position not in ("TRIM_HORIZON", "LATEST"):
            raise SystemExit(f"{function}: StartingPosition {self.position} has no local stand-in")
        self.batch_size = spec["batch_size"]
        self.report = spec["report_batch_item_failures"]
        self.bisect = spec["bisect_batch_on_function_error"]
        self.max_retries = spec["maximum_retry_attempts"]
        self.max_age = spec["maximum_record_age"]
        self.patterns = spec["filter_patterns"]
        for pattern in self.patterns:
            check_pattern(pattern)
        self.on_failure_url = spec.get("on_failure_url")
        if spec.get("on_failure_arn") and not self.on_failure_url:
            raise SystemExit(f"{function}: on-failure destination {spec['on_failure_arn']} has no queue URL")
        self.function_arn = spec["function_arn"]
        self.function, self.timeout, self.region = function, timeout, region
        self.invoke_url, self.journal, self.invoke = invoke_url, journal, invoke
        self.log = log or (lambda line: print(f"stream poller {function}: {line}", flush=True))
        self.started = set()  # shard ids with a reader (or skipped)
        self.done = set()  # shard ids read to their end (or skipped)
        self.first_pass = True

    def shards(self):
        shards, start = [], None
        while True:
            args = {"StreamArn": self.stream_arn}
            if start:
                args["ExclusiveStartShardId"] = start
            description = self.streams.describe_stream(**args)["StreamDescription"]
            shards += description["Shards"]
            start = description.get("LastEvaluatedShardId")
            if not start:
                return shards

    def discover(self):
        """Readers for the shards that may start now: not started, and their parent done (or gone)."""
        shards = self.shards()
        ids = {s["ShardId"] for s in shards}
        latest = set()
        if self.first_pass and self.position == "LATEST":
            for s in shards:  # history to LATEST: closed shards are skipped, open ones read from their tip
                if "EndingSequenceNumber" in s["SequenceNumberRange"]:
                    self.started.add(s["ShardId"])
                    self.done.add(s["ShardId"])
                else:
                    latest.add(s["ShardId"])
        self.first_pass = False
        readers = []
        for s in shards:
            shard_id, parent = s["ShardId"], s.get("ParentShardId")
            if shard_id in self.started or (parent in ids and parent not in self.done):
                continue
            self.started.add(shard_id)
            readers.append(Shard(self, shard_id, "LATEST" if shard_id in latest else "TRIM_HORIZON"))
        return readers

    def run(self, stop):
        threads = []
        while not stop.is_set():
            try:
                for reader in self.discover():
                    t = threading.Thread(target=self._read, args=(reader, stop), daemon=True)
                    t.start()
                    threads.append(t)
            except Exception as e:  # noqa: BLE001 - e.g. DynamoDB Local restarting
                self.log(f"{type(e).__name__}: {e}")
            stop.wait(DISCOVER_SECONDS)
        for t in threads:
            t.join(timeout=self.timeout + 60)

    def _read(self, reader, stop):
        if reader.run(stop):
            self.done.add(reader.shard_id)

    def start(self, stop):
        thread = threading.Thread(target=self.run, args=(stop,), daemon=True)
        thread.start()
        return [thread]
