"""Lambda's SQS event source mapping, locally: long-polls a queue and invokes a function through
cargo lambda's Invoke API, then deletes what succeeded, the way AWS does:

- a batch is at most BatchSize messages, received with the queue's own visibility timeout;
- a function error or timeout fails the whole batch: nothing is deleted;
- with ReportBatchItemFailures, the response names the failed message ids; an empty or absent
  list is full success; an unreadable response, or an id that is empty or not in the batch,
  fails the whole batch;
- failed messages are left alone: they come back when their visibility times out, and SQS's
  redrive policy moves them to the dead-letter queue after maxReceiveCount receives;
- at most MaximumConcurrency batches are in flight per mapping.
"""

import http.client
import json
import threading
import time
import urllib.error
import urllib.request

# Short long-polls so that stopping is quick; AWS polls with 20 s.
WAIT_SECONDS = 2


def record(message, queue_arn, region):
    """An SQS message as a Lambda SQS event record."""
    attributes = {}
    for name, value in message.get("MessageAttributes", {}).items():
        attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def reported_failures(body):
    """The itemIdentifiers a partial batch response names ([] for full success: an empty,
    absent or null list). ValueError when the response is unreadable or an identifier is empty."""
    if body is None or body.strip() in (b"", b"null"):
        return []
    response = json.loads(body)
    if not isinstance(response, dict):
        raise ValueError("the response is not an object")
    failures = response.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        raise ValueError("batchItemFailures is not a list")
    items = []
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not item or not isinstance(item, str):
            raise ValueError(f"bad batch item failure {failure!r}")
        items.append(item)
    return items


def failed_ids(ok, body, batch_ids, report_batch_item_failures):
    """The ids to leave on the queue, from the invocation's outcome (see the module's rules)."""
    everything = set(batch_ids)
    if not ok:
        return everything
    if not report_batch_item_failures:
        return set()
    try:
        failed = set(reported_failures(body))
    except ValueError:
        return everything
    return failed if failed <= everything else everything


def call(invoke_url, function, event, timeout):
    """(status, X-Amz-Function-Error, body) of one Invoke; status None on a timeout or no answer."""
    request = urllib.request.Request(
        f"{invoke_url}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("X-Amz-Function-Error"), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("X-Amz-Function-Error"), e.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException):
        return None, None, None


def invoke(invoke_url, function, event, timeout):
    """(ok, body): ok is False on a function error (non-200 or X-Amz-Function-Error) or timeout."""
    status, error, body = call(invoke_url, function, event, timeout)
    return status == 200 and not error, body


_JOURNAL_LOCK = threading.Lock()


def append_journal(path, entry):
    """Appends one JSON line to the journal (if any); one lock for every mapping writing to it."""
    if path:
        with _JOURNAL_LOCK, open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class Mapping:
    def __init__(self, sqs, queue_url, queue_arn, function, timeout, batch_size, report_batch_item_failures,
                 concurrency, region, invoke_url, journal=None):
        if batch_size > 10:
            raise SystemExit(f"{function}: BatchSize {batch_size} over 10 needs a batching window; not supported locally")
        self.sqs, self.queue_url, self.queue_arn = sqs, queue_url, queue_arn
        self.function, self.timeout, self.batch_size = function, timeout, batch_size
        self.report = report_batch_item_failures
        self.concurrency, self.region, self.invoke_url = concurrency, region, invoke_url
        self.journal = journal

    def poll_once(self):
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        event = {"Records": [record(m, self.queue_arn, self.region) for m in messages]}
        # Slack over the function's own timeout for cargo lambda's start-up of a fresh instance.
        ok, body = invoke(self.invoke_url, self.function, event, self.timeout + 30)
        ids = [m["MessageId"] for m in messages]
        failed = failed_ids(ok, body, ids, self.report)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start:start + 10])]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        self._journal(messages, ok, failed)

    def _journal(self, messages, ok, failed):
        append_journal(self.journal, {
            "function": self.function,
            "invoked_ok": ok,
            "messages": [{
                "id": m["MessageId"],
                "body": m["Body"],
                "receive_count": int(m.get("Attributes", {}).get("ApproximateReceiveCount", "0")),
                "failed": m["MessageId"] in failed,
            } for m in messages],
        })

    def run(self, stop):
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as e:  # noqa: BLE001 - a poller keeps polling, like AWS's
                print(f"poller {self.function}: {type(e).__name__}: {e}", flush=True)
                time.sleep(1)

    def start(self, stop):
        threads = [threading.Thread(target=self.run, args=(stop,), daemon=True) for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        return threads
