"""Unit tests of the local stack's rules (run by tests/lambda_stack.rs with the tools' Python)."""

import datetime
import json
import os
import time
import unittest

import poller
import provision
import streams
import template as tpl

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "infra", "template.yaml")
IDS = ["a", "b", "c"]
SECRET = {k: "x" for k in ("appendix_secret", "result_key_pem", "result_key_id", "dvs_api_key", "bank_api_key")}


class PartialBatchResponses(unittest.TestCase):
    """Lambda's rules for SQS partial batch responses, as AWS documents them."""

    def failed(self, body, ok=True, report=True):
        return poller.failed_ids(ok, body, IDS, report)

    def test_success_is_an_empty_or_absent_list(self):
        for body in [b'{"batchItemFailures": []}', b'{"batchItemFailures": null}', b"{}", b"null", b"", None]:
            self.assertEqual(self.failed(body), set(), body)

    def test_named_ids_are_retried_and_the_rest_deleted(self):
        body = b'{"batchItemFailures": [{"itemIdentifier": "b"}]}'
        self.assertEqual(self.failed(body), {"b"})

    def test_a_bad_response_fails_the_whole_batch(self):
        for body in [b"not json", b"[]", b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
                     b'{"batchItemFailures": [{"itemIdentifier": null}]}',
                     b'{"batchItemFailures": [{"id": "a"}]}',
                     b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}',
                     b'{"batchItemFailures": "a"}']:
            self.assertEqual(self.failed(body), set(IDS), body)

    def test_a_function_error_fails_the_whole_batch(self):
        self.assertEqual(self.failed(b'{"batchItemFailures": []}', ok=False), set(IDS))
        self.assertEqual(self.failed(None, ok=False, report=False), set(IDS))

    def test_without_reporting_a_success_deletes_everything(self):
        self.assertEqual(self.failed(b'{"batchItemFailures": [{"itemIdentifier": "a"}]}', report=False), set())

    def test_records_look_like_lambdas(self):
        message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}", "MD5OfBody": "x",
                   "Attributes": {"ApproximateReceiveCount": "2"},
                   "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}
        r = poller.record(message, "arn:aws:sqs:ap-southeast-2:000000000000:q", "ap-southeast-2")
        self.assertEqual(r["messageId"], "m1")
        self.assertEqual(r["eventSource"], "aws:sqs")
        self.assertEqual(r["attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(r["messageAttributes"]["k"]["stringValue"], "v")


class TemplateEvaluation(unittest.TestCase):
    def stack(self, stage="t1", params=None):
        stack = tpl.Stack(tpl.load(TEMPLATE), {"Stage": stage, **(params or {})}, {
            "AWS::Region": "ap-southeast-2", "AWS::AccountId": "000000000000", "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "s"})
        provision.physical_names(stack, "000000000000", "ap-southeast-2")
        provision.stand_ins(stack, "http://127.0.0.1:4566")
        return stack

    def test_names_and_arns_follow_the_stage(self):
        stack = self.stack()
        self.assertEqual(stack.refs["Table"], "total-identity-t1")
        self.assertEqual(stack.attributes[("StepQueue", "Arn")],
                         "arn:aws:sqs:ap-southeast-2:000000000000:total-identity-t1-steps")
        redrive = stack.eval(stack.resources["StepQueue"]["Properties"]["RedrivePolicy"])
        self.assertEqual(redrive["deadLetterTargetArn"], stack.attributes[("StepDeadLetterQueue", "Arn")])

    def test_conditions_choose_branches_and_drop_no_value(self):
        plain = self.stack()
        self.assertEqual(plain.eval(plain.template["Outputs"]["PublicUrl"]["Value"]),
                         "https://local.execute-api.ap-southeast-2.amazonaws.com")
        env = plain.eval(plain.resources["ProcessStep"]["Properties"]["Environment"]["Variables"])
        self.assertNotIn("TI_DVS_API_KEY", env)
        custom = self.stack(params={"DomainName": "verify.example.com", "DvsUrl": "https://dvs.example"})
        self.assertEqual(custom.eval(custom.template["Outputs"]["PublicUrl"]["Value"]), "https://verify.example.com")
        env = custom.eval(custom.resources["ProcessStep"]["Properties"]["Environment"]["Variables"])
        self.assertIn("dvs_api_key", env["TI_DVS_API_KEY"])

    def test_secrets_resolve_from_the_local_secret_only(self):
        ref = "{{resolve:secretsmanager:total-identity/dev/keys:SecretString:appendix_secret}}"
        self.assertEqual(tpl.resolve_secrets(ref, {"appendix_secret": "s3cr3t"}), "s3cr3t")
        with self.assertRaises(KeyError):
            tpl.resolve_secrets(ref, {})
        with self.assertRaises(ValueError):
            tpl.resolve_secrets("{{resolve:ssm:/x}}", {})

    def test_routes_become_cargo_lambda_watch_routes(self):
        router = provision.routes(self.stack())
        self.assertIn({"method": "POST", "function": "create-session"}, router["/identity"])
        self.assertIn({"method": "GET", "function": "list-sessions"}, router["/identity"])
        self.assertIn({"method": "DELETE", "function": "cancel-session"}, router["/identity/{session_id}"])
        self.assertEqual({e["function"] for e in router["/j/{*proxy}"]}, {"serve-journey"})

    def test_the_outbox_stream_mapping_comes_from_the_template(self):
        stack = self.stack()
        fns = provision.functions(stack, SECRET, lambda v: v)
        (outbox,) = fns["DeliverWebhook"]["dynamodb"]
        self.assertEqual(outbox["stream_arn"], stack.attributes[("Table", "StreamArn")])
        self.assertEqual((outbox["starting_position"], outbox["batch_size"]), ("TRIM_HORIZON", 10))
        self.assertTrue(outbox["report_batch_item_failures"] and outbox["bisect_batch_on_function_error"])
        self.assertEqual((outbox["maximum_retry_attempts"], outbox["maximum_record_age"]), (10, 86400))
        self.assertEqual(outbox["filter_patterns"], [{"dynamodb": {"NewImage": {"webhook_due": {"BOOL": [True]}}}}])
        self.assertEqual(outbox["on_failure_arn"], stack.attributes[("WebhookOutboxFailures", "Arn")])
        self.assertEqual(outbox["function_arn"], stack.attributes[("DeliverWebhook", "Arn")])
        self.assertEqual(len(fns["DeliverWebhook"]["sqs"]), 1)

    def test_event_sources_without_a_local_stand_in_stop_provisioning(self):
        stack = self.stack()
        events = stack.resources["DeliverWebhook"]["Properties"]["Events"]
        events["Outbox"]["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"] = '{"eventName": [{"prefix": "I"}]}'
        with self.assertRaisesRegex(SystemExit, "prefix"):
            provision.functions(stack, SECRET, lambda v: v)
        events["Outbox"]["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"] = '{"eventName": ["INSERT"]}'
        events["Outbox"]["Properties"]["TumblingWindowInSeconds"] = 60
        with self.assertRaisesRegex(SystemExit, "TumblingWindowInSeconds"):
            provision.functions(stack, SECRET, lambda v: v)
        del events["Outbox"]["Properties"]["TumblingWindowInSeconds"]
        events["Timer"] = {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}
        with self.assertRaisesRegex(SystemExit, "event type Schedule has no local stand-in"):
            provision.functions(stack, SECRET, lambda v: v)

    def test_unsupported_intrinsics_fail_loudly(self):
        with self.assertRaises(ValueError):
            self.stack().eval({"Fn::FindInMap": ["M", "a", "b"]})


OUTBOX = {"dynamodb": {"NewImage": {"webhook_due": {"BOOL": [True]}}}}


def change(seq, due=True, created=None, name="MODIFY"):
    """A DynamoDB stream record as boto3's GetRecords returns it."""
    image = {"pk": {"S": f"SESSION#{seq}"}, "sk": {"S": "SESSION"}, "blob": {"B": b"\x00\x01"}}
    if due is not None:
        image["webhook_due"] = {"BOOL": due}
    when = created if created is not None else datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return {"eventID": f"e{seq}", "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "ddblocal", "dynamodb": {
                "ApproximateCreationDateTime": when, "Keys": {"pk": image["pk"], "sk": image["sk"]},
                "NewImage": image, "SequenceNumber": f"{seq:021d}", "SizeBytes": 40, "StreamViewType": "NEW_IMAGE"}}


def record(seq, due=True):
    return streams.lambda_record(change(seq, due), "arn:stream", "ap-southeast-2")


class FilterPatterns(unittest.TestCase):
    """Lambda's FilterCriteria (EventBridge patterns), over the record as the function sees it."""

    def test_the_outbox_pattern_admits_due_changes_only(self):
        self.assertTrue(streams.matches(OUTBOX, record(1)))
        self.assertFalse(streams.matches(OUTBOX, record(2, due=False)))
        self.assertFalse(streams.matches(OUTBOX, record(3, due=None)))

    def test_values_are_alternatives_and_json_types_are_strict(self):
        self.assertTrue(streams.matches({"eventName": ["INSERT", "MODIFY"]}, record(1)))
        self.assertFalse(streams.matches({"eventName": ["REMOVE"]}, record(1)))
        self.assertFalse(streams.matches({"n": [1]}, {"n": True}))
        self.assertTrue(streams.matches({"n": [1]}, {"n": 1.0}))
        self.assertTrue(streams.matches({"tags": ["b"]}, {"tags": ["a", "b"]}))
        self.assertTrue(streams.matches({"v": [None]}, {"v": None}))
        self.assertFalse(streams.matches({"v": [None]}, {}))

    def test_exists_asks_for_a_leaf_value(self):
        due = {"dynamodb": {"NewImage": {"webhook_due": {"BOOL": [{"exists": True}]}}}}
        self.assertTrue(streams.matches(due, record(1, due=False)))
        self.assertFalse(streams.matches(due, record(1, due=None)))
        gone = {"dynamodb": {"NewImage": {"webhook_due": {"BOOL": [{"exists": False}]}}}}
        self.assertTrue(streams.matches(gone, record(1, due=None)))
        self.assertFalse(streams.matches(gone, record(1)))
        # An object is not a leaf, as in EventBridge.
        self.assertFalse(streams.matches({"dynamodb": {"NewImage": [{"exists": True}]}}, record(1)))

    def test_unsupported_patterns_are_refused_not_ignored(self):
        streams.check_pattern(OUTBOX)
        for bad in [{"eventName": [{"prefix": "IN"}]}, {"n": [{"numeric": [">", 1]}]},
                    {"eventName": [{"anything-but": "REMOVE"}]}, {"$or": [{"a": [1]}, {"b": [2]}]},
                    {"eventName": "INSERT"}, {"eventName": []}, {"a": [[1]]}, {"a": [{"exists": "yes"}]}, {}, []]:
            with self.assertRaises(ValueError, msg=json.dumps(bad)):
                streams.check_pattern(bad)


class StreamRecords(unittest.TestCase):
    def test_records_look_like_lambdas_and_are_json(self):
        when = datetime.datetime(2026, 11, 26, 16, 0, tzinfo=datetime.timezone.utc)
        r = streams.lambda_record(change(7, created=when), "arn:s", "ap-southeast-2")
        self.assertEqual(list(r), ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                                   "eventSourceARN"])
        self.assertEqual((r["eventSource"], r["eventVersion"], r["awsRegion"], r["eventSourceARN"]),
                         ("aws:dynamodb", "1.1", "ap-southeast-2", "arn:s"))
        self.assertEqual(r["dynamodb"]["ApproximateCreationDateTime"], int(when.timestamp()))
        self.assertEqual(r["dynamodb"]["NewImage"]["blob"], {"B": "AAE="})
        self.assertEqual(r["dynamodb"]["SequenceNumber"], "000000000000000000007")
        json.dumps(r)

    def test_reported_failures_name_where_to_retry_from(self):
        seqs = ["1", "2", "3"]
        for body in [b'{"batchItemFailures": []}', b'{"batchItemFailures": null}', b"{}", b"null", b"", None]:
            self.assertIsNone(streams.first_failure(True, body, seqs, True), body)
        self.assertEqual(streams.first_failure(
            True, b'{"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}', seqs, True), 1)
        for body in [b"not json", b'{"batchItemFailures": [{"itemIdentifier": "9"}]}',
                     b'{"batchItemFailures": [{"itemIdentifier": ""}]}', b'{"batchItemFailures": {}}']:
            self.assertEqual(streams.first_failure(True, body, seqs, True), 0, body)
        self.assertEqual(streams.first_failure(False, b"{}", seqs, True), 0)
        self.assertIsNone(streams.first_failure(True, b'{"batchItemFailures": [{"itemIdentifier": "2"}]}', seqs, False))


class FakeStreams:
    """DynamoDB Streams with fixed shards: {id: (parent, records, closed)}."""

    def __init__(self, shards):
        self.shards = shards

    def describe_stream(self, StreamArn):
        return {"StreamDescription": {"Shards": [
            {"ShardId": sid, **({"ParentShardId": parent} if parent else {}),
             "SequenceNumberRange": {"StartingSequenceNumber": "0", **({"EndingSequenceNumber": "9"} if closed else {})}}
            for sid, (parent, _, closed) in self.shards.items()]}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        records = self.shards[ShardId][1]
        start = {"TRIM_HORIZON": 0, "LATEST": len(records)}.get(ShardIteratorType)
        if ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            start = [r["dynamodb"]["SequenceNumber"] for r in records].index(SequenceNumber) + 1
        return {"ShardIterator": f"{ShardId}|{start}"}

    def get_records(self, ShardIterator, Limit):
        sid, start = ShardIterator.split("|")
        _, records, closed = self.shards[sid]
        end = min(len(records), int(start) + 2)  # small pages: reads span several calls
        done = closed and end == len(records)
        return {"Records": records[int(start):end], **({} if done else {"NextShardIterator": f"{sid}|{end}"})}


class FakeSqs:
    def __init__(self):
        self.sent = []

    def send_message(self, QueueUrl, MessageBody):
        self.sent.append((QueueUrl, json.loads(MessageBody)))


class FakeFunction:
    """Invoke API stand-in: answer(sequence numbers) -> (status, function error, body)."""

    def __init__(self, answer):
        self.answer, self.batches = answer, []

    def __call__(self, url, function, event, timeout):
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
        self.batches.append(seqs)
        return self.answer(seqs)


def ok(failed=()):
    return 200, None, json.dumps({"batchItemFailures": [{"itemIdentifier": f"{s:021d}"} for s in failed]}).encode()


CRASH = (200, "Unhandled", b'{"errorMessage": "boom"}')


class StreamMappingRules(unittest.TestCase):
    """The shard reader against fake Streams, SQS and function: Lambda's rules for stream sources."""

    def mapping(self, answer, shards, **spec):
        self.sqs, self.function = FakeSqs(), FakeFunction(answer)
        spec = {"stream_arn": "arn:stream", "starting_position": "TRIM_HORIZON", "batch_size": 4,
                "report_batch_item_failures": True, "bisect_batch_on_function_error": False,
                "maximum_retry_attempts": 2, "maximum_record_age": -1, "filter_patterns": [OUTBOX],
                "on_failure_arn": "arn:aws:sqs:r:a:failures", "on_failure_url": "http://q/failures",
                "function_arn": "arn:aws:lambda:r:a:function:deliver-webhook", **spec}
        self.logged = []
        return streams.Mapping(FakeStreams(shards), self.sqs, spec, "deliver-webhook", 60, "ap-southeast-2",
                               "http://invoke", invoke=self.function, log=self.logged.append)

    def drain(self, mapping, shard="s1", steps=50):
        (reader,) = [r for r in mapping.discover() if r.shard_id == shard]
        for _ in range(steps):
            if reader.step() is None and reader.closed:
                return reader
        self.fail("the shard was not drained")

    def test_filtered_records_are_skipped_and_batches_keep_shard_order(self):
        records = [change(i, due=i % 3 != 0) for i in range(1, 11)]
        m = self.mapping(lambda seqs: ok(), {"s1": (None, records, True)})
        self.drain(m)
        self.assertEqual(self.function.batches, [[1, 2, 4, 5], [7, 8, 10]])
        self.assertEqual(self.sqs.sent, [])

    def test_a_partial_failure_retries_from_the_lowest_failed_sequence_number(self):
        answers = iter([ok(failed=[4, 3]), ok(), ok()])
        m = self.mapping(lambda seqs: next(answers), {"s1": (None, [change(i) for i in range(1, 6)], True)})
        self.drain(m)
        self.assertEqual(self.function.batches, [[1, 2, 3, 4], [3, 4], [5]])

    def test_an_unknown_identifier_fails_the_whole_batch(self):
        answers = iter([(200, None, b'{"batchItemFailures": [{"itemIdentifier": "nope"}]}'), ok()])
        m = self.mapping(lambda seqs: next(answers), {"s1": (None, [change(i) for i in range(1, 4)], True)})
        self.drain(m)
        self.assertEqual(self.function.batches, [[1, 2, 3], [1, 2, 3]])

    def test_a_function_error_bisects_until_the_bad_record_is_alone_then_gives_it_up(self):
        m = self.mapping(lambda seqs: CRASH if 3 in seqs else ok(), {"s1": (None, [change(i) for i in range(1, 7)], True)},
                         bisect_batch_on_function_error=True)
        self.drain(m)
        # 1-4 fails: halves 1-2 (ok) and 3-4 (fails: 3 and 4); 3 alone fails 1 + 2 retries; then 4, then 5-6.
        self.assertEqual(self.function.batches, [[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [3], [4], [5, 6]])
        ((url, failure),) = self.sqs.sent
        self.assertEqual(url, "http://q/failures")
        info = failure["DDBStreamBatchInfo"]
        self.assertEqual((info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]),
                         ("000000000000000000003", "000000000000000000003", 1))
        self.assertEqual(failure["requestContext"]["condition"], "RetryAttemptsExhausted")
        self.assertEqual(failure["requestContext"]["approximateInvokeCount"], 5)
        self.assertEqual(failure["responseContext"]["functionError"], "Unhandled")

    def test_exhausted_retries_send_the_on_failure_record_and_the_shard_moves_on(self):
        m = self.mapping(lambda seqs: CRASH if 1 in seqs else ok(), {"s1": (None, [change(i) for i in range(1, 7)], True)})
        self.drain(m)
        self.assertEqual(self.function.batches, [[1, 2, 3, 4]] * 3 + [[5, 6]])
        ((_, failure),) = self.sqs.sent
        self.assertEqual(set(failure), {"requestContext", "responseContext", "version", "timestamp",
                                        "DDBStreamBatchInfo"})
        self.assertEqual(failure["requestContext"]["functionArn"], "arn:aws:lambda:r:a:function:deliver-webhook")
        self.assertEqual((failure["requestContext"]["condition"], failure["requestContext"]["approximateInvokeCount"]),
                         ("RetryAttemptsExhausted", 3))
        info = failure["DDBStreamBatchInfo"]
        self.assertEqual((info["shardId"], info["batchSize"], info["streamArn"]), ("s1", 4, "arn:stream"))
        self.assertEqual((info["startSequenceNumber"], info["endSequenceNumber"]),
                         ("000000000000000000001", "000000000000000000004"))
        self.assertTrue(info["approximateArrivalOfFirstRecord"].endswith("Z"))
        self.assertIn("gave up on 4 records", self.logged[0])

    def test_records_past_the_maximum_age_are_not_sent_again(self):
        old = datetime.datetime.fromtimestamp(time.time() - 120, datetime.timezone.utc)
        m = self.mapping(lambda seqs: CRASH if 1 in seqs else ok(),
                         {"s1": (None, [change(1, created=old), change(2)], True)},
                         maximum_record_age=60, maximum_retry_attempts=-1, batch_size=1)
        self.drain(m)
        self.assertEqual(self.function.batches, [[2]])
        ((_, failure),) = self.sqs.sent
        self.assertEqual((failure["requestContext"]["condition"], failure["requestContext"]["approximateInvokeCount"]),
                         ("RecordAgeExceeded", 0))

    def test_a_child_shard_is_read_after_its_parent_and_latest_skips_history(self):
        shards = {"child": ("parent", [change(3)], False), "parent": (None, [change(1), change(2)], True)}
        m = self.mapping(lambda seqs: ok(), shards)
        self.assertEqual([r.shard_id for r in m.discover()], ["parent"])
        self.assertEqual(m.discover(), [])
        m.done.add("parent")
        (child,) = m.discover()
        self.assertEqual((child.shard_id, child.position), ("child", "TRIM_HORIZON"))
        latest = self.mapping(lambda seqs: ok(), shards, starting_position="LATEST")
        (reader,) = latest.discover()
        self.assertEqual((reader.shard_id, reader.position), ("child", "LATEST"))
        reader.step()
        self.assertEqual(self.function.batches, [])


if __name__ == "__main__":
    unittest.main()
