"""Unit tests of the local stack's rules (run by tests/lambda_stack.rs with the tools' Python)."""

import os
import unittest

import poller
import provision
import template as tpl

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "infra", "template.yaml")
IDS = ["a", "b", "c"]


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
        for name, _ in stack.of_type("AWS::SQS::Queue"):
            stack.refs[name] = "http://127.0.0.1:4566/000000000000/" + stack.attributes[(name, "QueueName")]
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

    def test_unsupported_intrinsics_fail_loudly(self):
        with self.assertRaises(ValueError):
            self.stack().eval({"Fn::FindInMap": ["M", "a", "b"]})


if __name__ == "__main__":
    unittest.main()
