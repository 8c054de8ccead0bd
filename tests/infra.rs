//! Reads infra/template.yaml and holds it to the README's deployment rules: every function crate
//! is deployed and every deployed function exists; every queue has a dead-letter queue; a queue's
//! visibility is at least 6x its consumer's timeout; roles name single actions on named
//! resources; the bucket is private; secrets come from Secrets Manager. (cfn-lint and
//! `sam validate --lint` check the rest: scripts/infra-lint.sh.)

#[path = "common/template.rs"]
mod template;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use template::{Template, one_or_many, references, target};

/// The only actions granted on `Resource: "*"`: Textract AnalyzeID and Rekognition DetectFaces /
/// CompareFaces have no resource-level permissions, so IAM accepts nothing narrower.
const UNSCOPABLE: [&str; 3] = ["textract:AnalyzeID", "rekognition:DetectFaces", "rekognition:CompareFaces"];
const MAX_RECEIVE_COUNT: u64 = 5;
/// What a stream event source needs of its stream (AWS's documented policy, on `stream/*`).
const STREAM_READING: [&str; 4] =
    ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"];

fn functions(t: &Template) -> impl Iterator<Item = (&str, &Value)> {
    t.of_type("AWS::Serverless::Function")
}

fn number(v: &Value) -> u64 {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a number: {v}"))
}

fn binary(t: &Template, function: &str) -> String {
    t.resource(function)["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary").to_owned()
}

#[test]
fn every_function_crate_is_in_the_template_and_every_template_function_is_a_crate() {
    let t = Template::load();
    let crates: BTreeSet<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/functions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(crates.len() >= 7, "{crates:?}");
    let mut deployed = BTreeSet::new();
    for (name, props) in functions(&t) {
        let bin = binary(&t, name);
        assert_eq!(t.resource(name)["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        assert_eq!(props["CodeUri"], format!("../functions/{bin}"), "{name}: CodeUri is the crate's folder");
        assert_eq!(t.function_property(name, "Runtime"), "provided.al2023", "{name}");
        assert_eq!(t.function_property(name, "Architectures"), serde_json::json!(["arm64"]), "{name}");
        assert!(deployed.insert(bin.clone()), "{bin} deployed twice");
    }
    assert_eq!(crates, deployed, "functions/ and the template's functions differ");
}

/// `deadLetterTargetArn` of each queue that has one: queue → its DLQ.
fn dead_letter_queues(t: &Template) -> BTreeMap<String, String> {
    t.of_type("AWS::SQS::Queue")
        .filter_map(|(name, props)| {
            let redrive = &props["RedrivePolicy"];
            (!redrive.is_null()).then(|| {
                assert_eq!(number(&redrive["maxReceiveCount"]), MAX_RECEIVE_COUNT, "{name}: maxReceiveCount");
                let dlq = target(&redrive["deadLetterTargetArn"]).expect("deadLetterTargetArn is !GetAtt <queue>.Arn");
                assert_eq!(t.resource(dlq)["Type"], "AWS::SQS::Queue", "{name}: DLQ {dlq} is not a queue");
                (name.to_owned(), dlq.to_owned())
            })
        })
        .collect()
}

/// `(function, event properties)` for every DynamoDB stream event source.
fn stream_consumers(t: &Template) -> Vec<(String, Value)> {
    functions(t)
        .flat_map(|(name, props)| {
            let events = props["Events"].as_object().into_iter().flat_map(|e| e.values());
            events
                .filter(|e| e["Type"] == "DynamoDB")
                .map(|e| (name.to_owned(), e["Properties"].clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Queues where a stream mapping records the batches it gave up on.
fn on_failure_queues(t: &Template) -> BTreeSet<String> {
    stream_consumers(t)
        .iter()
        .map(|(function, event)| {
            let queue = target(&event["DestinationConfig"]["OnFailure"]["Destination"])
                .unwrap_or_else(|| panic!("{function}: a stream mapping without an on-failure queue"));
            assert_eq!(t.resource(queue)["Type"], "AWS::SQS::Queue", "{function}: on-failure {queue}");
            queue.to_owned()
        })
        .collect()
}

#[test]
fn every_queue_has_a_dead_letter_queue_after_five_receives() {
    let t = Template::load();
    let dlqs = dead_letter_queues(&t);
    let mut dead_letter: BTreeSet<String> = dlqs.values().cloned().collect();
    dead_letter.extend(on_failure_queues(&t));
    for (name, _) in t.of_type("AWS::SQS::Queue") {
        if dead_letter.contains(name) {
            continue;
        }
        assert!(dlqs.contains_key(name), "queue {name} has no dead-letter queue");
    }
    assert!(dlqs.len() >= 2, "the step and webhook queues: {dlqs:?}");
}

#[test]
fn the_outbox_stream_wakes_deliver_webhook_only_for_owed_webhooks_and_keeps_what_it_gives_up() {
    let t = Template::load();
    let table = &t.resource("Table")["Properties"];
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "NEW_IMAGE", "the filter reads the new image");
    let consumers = stream_consumers(&t);
    let readers: Vec<_> = consumers.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(readers, ["DeliverWebhook"]);
    let event = &consumers[0].1;
    assert_eq!(event["Stream"], serde_json::json!({"Fn::GetAtt": ["Table", "StreamArn"]}));
    assert_eq!(event["FunctionResponseTypes"], serde_json::json!(["ReportBatchItemFailures"]));
    assert_eq!(event["BisectBatchOnFunctionError"], true);
    let retries = number(&event["MaximumRetryAttempts"]);
    assert!((1..=100).contains(&retries), "retries are bounded, then the on-failure queue: {retries}");
    assert!((1..=10).contains(&number(&event["BatchSize"])));
    // The filter names the marker the store writes, with the value that means "owed".
    let filters = event["FilterCriteria"]["Filters"].as_array().expect("a filter");
    assert_eq!(filters.len(), 1);
    let pattern: Value = serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).unwrap();
    let marker = shared::store::dynamodb::OUTBOX_ATTRIBUTE;
    assert_eq!(pattern, serde_json::json!({"dynamodb": {"NewImage": {marker: {"BOOL": [true]}}}}));
    // The functions that end sessions queue no webhooks themselves.
    for (name, _) in functions(&t) {
        let queues_webhooks = t.function_env(name).contains_key("TI_WEBHOOK_QUEUE_URL");
        assert_eq!(queues_webhooks, name == "DeliverWebhook", "{name}");
    }
}

/// `(function, queue, event properties)` for every SQS event source.
fn consumers(t: &Template) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (name, props) in functions(t) {
        for event in props["Events"].as_object().into_iter().flat_map(|e| e.values()) {
            if event["Type"] == "SQS" {
                let queue = target(&event["Properties"]["Queue"]).expect("Queue is !GetAtt <queue>.Arn");
                out.push((name.to_owned(), queue.to_owned(), event["Properties"].clone()));
            }
        }
    }
    out
}

#[test]
fn queue_visibility_is_at_least_six_times_its_consumers_timeout() {
    let t = Template::load();
    let consumers = consumers(&t);
    assert!(consumers.len() >= 2, "{consumers:?}");
    for (function, queue, event) in &consumers {
        let timeout = number(&t.function_property(function, "Timeout"));
        let window = event["MaximumBatchingWindowInSeconds"].as_u64().unwrap_or(0);
        let visibility = number(&t.resource(queue)["Properties"]["VisibilityTimeout"]);
        assert!(
            visibility >= 6 * timeout + window,
            "{queue}: visibility {visibility} s < 6 x {function}'s timeout {timeout} s + batching window {window} s"
        );
    }
}

#[test]
fn event_source_mappings_report_batch_item_failures_with_a_concurrency_cap() {
    let t = Template::load();
    for (function, queue, event) in consumers(&t) {
        assert_eq!(event["FunctionResponseTypes"], serde_json::json!(["ReportBatchItemFailures"]), "{function}");
        let cap = number(&event["ScalingConfig"]["MaximumConcurrency"]);
        assert!((2..=1000).contains(&cap), "{function}: MaximumConcurrency {cap}");
        let batch = number(&event["BatchSize"]);
        assert!((1..=10).contains(&batch), "{function}: BatchSize {batch}");
        assert!(!dead_letter_queues(&t).values().any(|d| d == &queue), "{function} consumes a DLQ");
    }
}

#[test]
fn step_max_receives_matches_the_step_queues_redrive() {
    let t = Template::load();
    for (function, queue, _) in consumers(&t) {
        if let Some(v) = t.function_env(&function).get("TI_STEP_MAX_RECEIVES") {
            let redrive = number(&t.resource(&queue)["Properties"]["RedrivePolicy"]["maxReceiveCount"]);
            assert_eq!(number(v), redrive, "{function}: the last receive must record the error outcome");
        }
    }
}

/// What is wrong with a role's statements: wildcard actions, lists of resources, `*` resources
/// outside [`UNSCOPABLE`], and resources that name nothing in the template.
fn role_violations(t: &Template) -> Vec<String> {
    let mut out = Vec::new();
    for (role, props) in t.of_type("AWS::IAM::Role") {
        if !props["ManagedPolicyArns"].is_null() {
            out.push(format!("{role}: managed policies grant more than the function needs"));
        }
        for policy in props["Policies"].as_array().into_iter().flatten() {
            for statement in policy["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
                let sid = format!("{role}/{}", statement["Sid"].as_str().unwrap_or("?"));
                if statement["Effect"] != "Allow" {
                    continue;
                }
                let actions: Vec<&str> =
                    one_or_many(&statement["Action"]).into_iter().map(|a| a.as_str().unwrap_or("?")).collect();
                for action in &actions {
                    if action.contains(['*', '?']) || !action.contains(':') {
                        out.push(format!("{sid}: wildcard or malformed action {action}"));
                    }
                }
                let resource = &statement["Resource"];
                if resource.is_array() {
                    out.push(format!("{sid}: one statement, one resource"));
                    continue;
                }
                if resource == "*" {
                    for action in actions.iter().filter(|a| !UNSCOPABLE.contains(a)) {
                        out.push(format!("{sid}: {action} on every resource"));
                    }
                    continue;
                }
                let named = references(resource);
                if named.is_empty() || !named.iter().any(|n| t.resources().contains_key(n)) {
                    out.push(format!("{sid}: resource {resource} names no resource of this stack"));
                }
                // The wildcards allowed in a resource: objects under a key prefix of our bucket,
                // `${Bucket.Arn}/prefix/*`, and the reading of our table's streams, whose names
                // are only known once created.
                if let Some(text) = resource["Fn::Sub"].as_str().filter(|t| t.contains('*')) {
                    let streams = text == "${Table.Arn}/stream/*"
                        && actions.iter().all(|a| STREAM_READING.contains(a))
                        && t.resources().get("Table").is_some_and(|t| t["Type"] == "AWS::DynamoDB::Table");
                    if streams {
                        continue;
                    }
                    let in_bucket = named
                        .first()
                        .and_then(|b| t.resources().get(b))
                        .is_some_and(|b| b["Type"] == "AWS::S3::Bucket");
                    let prefix = text.split_once("}/").map(|(_, key)| key).and_then(|k| k.strip_suffix("/*"));
                    if !in_bucket || !prefix.is_some_and(|p| !p.is_empty() && !p.contains('*')) {
                        out.push(format!("{sid}: wildcard resource {text}"));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn roles_grant_single_actions_on_named_resources() {
    let t = Template::load();
    assert_eq!(role_violations(&t), Vec::<String>::new());
    // Exactly the three unscopable actions are granted on "*", and only to process-step.
    let mut unscoped = BTreeSet::new();
    for (role, props) in t.of_type("AWS::IAM::Role") {
        for policy in props["Policies"].as_array().into_iter().flatten() {
            for s in policy["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
                if s["Resource"] == "*" {
                    assert_eq!(role, "ProcessStepRole");
                    unscoped.extend(one_or_many(&s["Action"]).into_iter().map(|a| a.as_str().unwrap().to_owned()));
                }
            }
        }
    }
    assert_eq!(unscoped, UNSCOPABLE.iter().map(|a| a.to_string()).collect());
    // One role per function, assumable by Lambda only.
    let mut roles = BTreeSet::new();
    for (name, props) in functions(&t) {
        let role = target(&props["Role"]).unwrap_or_else(|| panic!("{name}: Role is !GetAtt <role>.Arn"));
        assert!(roles.insert(role), "{role} shared by two functions");
        let trust = &t.resource(role)["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(trust["Principal"]["Service"], "lambda.amazonaws.com", "{role}");
        assert!(props["Policies"].is_null(), "{name}: permissions belong in its role");
    }
}

#[test]
fn the_role_check_catches_wildcards() {
    let bad = Template::parse(
        r#"
Resources:
  Table: { Type: AWS::DynamoDB::Table, Properties: {} }
  Role:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess]
      Policies:
        - PolicyDocument:
            Statement:
              - { Sid: A, Effect: Allow, Action: "dynamodb:*", Resource: !GetAtt Table.Arn }
              - { Sid: B, Effect: Allow, Action: dynamodb:GetItem, Resource: "*" }
              - { Sid: C, Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::somebody-elses/*" }
              - { Sid: D, Effect: Allow, Action: dynamodb:Query, Resource: !Sub "${Table.Arn}/index/*" }
              - { Sid: E, Effect: Allow, Action: dynamodb:Query, Resource: [!GetAtt Table.Arn] }
              - { Sid: F, Effect: Allow, Action: textract:AnalyzeID, Resource: "*" }
              - { Sid: G, Effect: Allow, Action: dynamodb:PutItem, Resource: !Sub "${Table.Arn}/stream/*" }
              - { Sid: H, Effect: Allow, Action: dynamodb:GetRecords, Resource: !Sub "${Table.Arn}/stream/*" }
"#,
    );
    let found = role_violations(&bad);
    for expected in [
        "Role: managed",
        "Role/A: wildcard",
        "Role/B: dynamodb:GetItem on every",
        "Role/C: resource",
        "Role/D: wildcard resource",
        "Role/E: one statement",
        "Role/G: wildcard resource",
    ] {
        assert!(found.iter().any(|v| v.starts_with(expected)), "{expected} not reported in {found:#?}");
    }
    assert!(!found.iter().any(|v| v.starts_with("Role/F") || v.starts_with("Role/H")), "{found:#?}");
}

#[test]
fn the_bucket_is_private_encrypted_tls_only_and_expires_captures() {
    let t = Template::load();
    let buckets: Vec<_> = t.of_type("AWS::S3::Bucket").collect();
    assert_eq!(buckets.len(), 1);
    let (bucket, props) = buckets[0];
    for flag in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(props["PublicAccessBlockConfiguration"][flag], true, "{flag}");
    }
    assert!(props["AccessControl"].is_null() && props["WebsiteConfiguration"].is_null());
    assert_eq!(props["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced");
    let sse = &props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"];
    assert!(sse["SSEAlgorithm"] == "AES256" || sse["SSEAlgorithm"] == "aws:kms");
    let expiry =
        props["LifecycleConfiguration"]["Rules"].as_array().unwrap().iter().find(|r| !r["ExpirationInDays"].is_null());
    assert_eq!(expiry.unwrap()["ExpirationInDays"], serde_json::json!({"Ref": "RetentionDays"}));
    assert_eq!(props["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"], serde_json::json!(["POST"]));
    let notify = &props["NotificationConfiguration"]["QueueConfigurations"][0];
    assert_eq!(notify["Event"], "s3:ObjectCreated:*");
    assert!(
        dead_letter_queues(&t).contains_key(target(&notify["Queue"]).unwrap()),
        "notifications go to a queue with a DLQ"
    );

    let policies: Vec<_> =
        t.of_type("AWS::S3::BucketPolicy").filter(|(_, p)| target(&p["Bucket"]) == Some(bucket)).collect();
    assert_eq!(policies.len(), 1, "one bucket policy");
    let statements = policies[0].1["PolicyDocument"]["Statement"].as_array().unwrap();
    assert!(statements.iter().all(|s| s["Effect"] == "Deny"), "the bucket policy only denies: {statements:?}");
    assert!(statements.iter().any(|s| s["Condition"]["Bool"]["aws:SecureTransport"] == "false"), "TLS is enforced");
}

#[test]
fn the_table_is_on_demand_recoverable_expiring_encrypted_and_keyed_like_the_store() {
    let t = Template::load();
    let (_, table) = t.of_type("AWS::DynamoDB::Table").next().expect("a table");
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    assert_eq!(table["TimeToLiveSpecification"], serde_json::json!({"AttributeName": "ttl", "Enabled": true}));
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    // The names shared::store::dynamodb writes and queries.
    let keys = |schema: &Value| -> Vec<String> {
        schema
            .as_array()
            .unwrap()
            .iter()
            .map(|k| format!("{}:{}", k["AttributeName"].as_str().unwrap(), k["KeyType"].as_str().unwrap()))
            .collect()
    };
    assert_eq!(keys(&table["KeySchema"]), ["pk:HASH", "sk:RANGE"]);
    let gsi = &table["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexName"], "gsi1");
    assert_eq!(keys(&gsi["KeySchema"]), ["gsi1pk:HASH", "gsi1sk:RANGE"]);
    assert_eq!(gsi["Projection"]["ProjectionType"], "ALL");
}

#[test]
fn logs_are_kept_for_a_set_time_and_errors_and_dead_letters_raise_alarms() {
    let t = Template::load();
    let groups: BTreeMap<String, &Value> = t
        .of_type("AWS::Logs::LogGroup")
        .map(|(_, p)| (p["LogGroupName"]["Fn::Sub"].as_str().unwrap_or_default().to_owned(), p))
        .collect();
    let alarms: Vec<&Value> = t.of_type("AWS::CloudWatch::Alarm").map(|(_, p)| p).collect();
    let alarmed = |metric: &str, dimension: &Value| {
        alarms.iter().any(|a| a["MetricName"] == metric && a["Dimensions"][0]["Value"] == *dimension)
    };
    for (name, props) in functions(&t) {
        let fn_name = props["FunctionName"]["Fn::Sub"].as_str().expect("FunctionName is a !Sub");
        let group = groups.get(&format!("/aws/lambda/{fn_name}")).unwrap_or_else(|| panic!("{name}: no log group"));
        assert_eq!(group["RetentionInDays"], serde_json::json!({"Ref": "LogRetentionDays"}), "{name}");
        assert!(alarmed("Errors", &serde_json::json!({"Ref": name})), "{name}: no Errors alarm");
    }
    for dlq in dead_letter_queues(&t).values().chain(on_failure_queues(&t).iter()) {
        let depth = serde_json::json!({"Fn::GetAtt": [dlq, "QueueName"]});
        assert!(alarmed("ApproximateNumberOfMessagesVisible", &depth), "{dlq}: no depth alarm");
    }
}

#[test]
fn keys_come_from_secrets_manager_never_from_the_template() {
    let text = std::fs::read_to_string(template::PATH).unwrap();
    assert!(!text.contains("PRIVATE KEY"), "a key in the template");
    let t = Template::load();
    let mut secrets = 0;
    for (name, _) in functions(&t) {
        for (key, value) in t.function_env(name) {
            if ["SECRET", "KEY_PEM", "KEY_ID", "API_KEY"].iter().any(|s| key.contains(s)) {
                let text = value.to_string();
                assert!(text.contains("{{resolve:secretsmanager:${KeysSecret}:SecretString:"), "{name}.{key} = {text}");
                secrets += 1;
            }
        }
    }
    assert!(secrets >= 8, "{secrets}");
    for param in ["Stage", "DomainName", "RetentionDays", "KeysSecret"] {
        assert!(t.0["Parameters"][param].is_object(), "parameter {param}");
    }
}

#[test]
fn every_http_function_has_routes_and_may_be_invoked_by_the_api_only() {
    let t = Template::load();
    let mut routed = BTreeMap::<String, Vec<String>>::new();
    for (_, route) in t.of_type("AWS::ApiGatewayV2::Route") {
        let integration = references(&route["Target"]).into_iter().next().expect("Target names an integration");
        let uri = &t.resource(&integration)["Properties"]["IntegrationUri"];
        let function = target(uri).expect("IntegrationUri is !GetAtt <function>.Arn").to_owned();
        routed.entry(function).or_default().push(route["RouteKey"].as_str().unwrap().to_owned());
    }
    let sqs_triggered: BTreeSet<String> = consumers(&t).into_iter().map(|(f, _, _)| f).collect();
    for (name, _) in functions(&t) {
        let permissions: Vec<_> =
            t.of_type("AWS::Lambda::Permission").filter(|(_, p)| target(&p["FunctionName"]) == Some(name)).collect();
        if sqs_triggered.contains(name) {
            assert!(!routed.contains_key(name) && permissions.is_empty(), "{name} is queue-triggered only");
            continue;
        }
        assert!(routed.contains_key(name), "{name} has no route");
        assert!(!permissions.is_empty(), "{name}: API Gateway may not invoke it");
        for (_, p) in permissions {
            assert_eq!(p["Principal"], "apigateway.amazonaws.com");
            assert!(references(&p["SourceArn"]).contains(&"HttpApi".to_owned()), "{name}: any API could invoke it");
        }
    }
    assert_eq!(routed["CreateSession"], ["POST /identity"]);
}

/// Every route of the code (`shared::api::ROUTES`, which the OpenAPI document matches) has
/// an API Gateway route: the same method and path, or a `{proxy+}` prefix of it.
#[test]
fn every_api_route_is_deployed() {
    let t = Template::load();
    let keys: Vec<String> =
        t.of_type("AWS::ApiGatewayV2::Route").map(|(_, r)| r["RouteKey"].as_str().unwrap().to_owned()).collect();
    for (method, path) in shared::api::ROUTES {
        let deployed = keys.iter().any(|key| {
            let Some((m, p)) = key.split_once(' ') else { return false };
            let same_path = match p.strip_suffix("{proxy+}") {
                Some(prefix) => path.starts_with(prefix) && path.len() > prefix.len(),
                None => p == *path,
            };
            (m == *method || m == "ANY") && same_path
        });
        assert!(deployed, "{method} {path} has no route in infra/template.yaml");
    }
}
/// Whether an HTTP API route path (`/j/{proxy+}`, `/h/{token}`) matches a request path.
fn route_matches(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (pattern.split('/'), path.split('/'));
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with("+}") => return !s.is_empty(),
            (Some(p), Some(s)) if p.starts_with('{') => {
                if s.is_empty() {
                    return false;
                }
            }
            (Some(p), Some(s)) if p == s => {}
            _ => return false,
        }
    }
}

#[test]
fn every_journey_path_reaches_serve_journey() {
    use shared::api::journey::JourneyEndpoint;
    let t = Template::load();
    let routes: Vec<(String, String)> = t
        .of_type("AWS::ApiGatewayV2::Route")
        .filter(|(_, r)| {
            let integration = references(&r["Target"]).into_iter().next().unwrap();
            target(&t.resource(&integration)["Properties"]["IntegrationUri"]) == Some("ServeJourney")
        })
        .map(|(_, r)| {
            let (method, path) = r["RouteKey"].as_str().unwrap().split_once(' ').unwrap();
            (method.to_owned(), path.to_owned())
        })
        .collect();
    let secret = "s".repeat(43);
    for (method, path) in [
        ("GET", format!("/j/{secret}")),
        ("GET", format!("/j/{secret}/session")),
        ("POST", format!("/j/{secret}/uploads")),
        ("PUT", format!("/j/{secret}/details")),
        ("POST", format!("/j/{secret}/handoff")),
        ("GET", format!("/j/{secret}/finish")),
        ("GET", "/h/token".to_owned()),
        ("POST", "/h/token".to_owned()),
        ("GET", "/assets/journey-0123456789.js".to_owned()),
        ("GET", "/.well-known/jwks.json".to_owned()),
        ("GET", "/appendix/token".to_owned()),
    ] {
        let m = http::Method::from_bytes(method.as_bytes()).unwrap();
        assert!(matches!(JourneyEndpoint::route(&m, &path), Some(Ok(_))), "the journey serves {method} {path}");
        assert!(
            routes.iter().any(|(rm, rp)| rm == method && route_matches(rp, &path)),
            "no serve-journey route for {method} {path} in {routes:?}"
        );
    }
    assert!(route_matches("/j/{proxy+}", "/j/abc/session") && !route_matches("/h/{token}", "/h/a/b"));
}

/// `(action, resource)` pairs a role grants, resources as their YAML text.
fn grants(t: &Template, role: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for policy in t.resource(role)["Properties"]["Policies"].as_array().into_iter().flatten() {
        for s in policy["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
            for action in one_or_many(&s["Action"]) {
                out.push((action.as_str().unwrap().to_owned(), s["Resource"].to_string()));
            }
        }
    }
    out
}

#[test]
fn redaction_is_routed_and_its_erasure_may_delete_only_session_objects() {
    let t = Template::load();
    let routes: BTreeMap<String, String> = t
        .of_type("AWS::ApiGatewayV2::Route")
        .map(|(_, r)| {
            let integration = references(&r["Target"]).into_iter().next().unwrap();
            let uri = &t.resource(&integration)["Properties"]["IntegrationUri"];
            (r["RouteKey"].as_str().unwrap().to_owned(), target(uri).unwrap().to_owned())
        })
        .collect();
    assert_eq!(routes["POST /identity/{session_id}/redact"], "RedactSession");
    assert_eq!(routes["GET /identity/{session_id}/events"], "GetSession");

    let redact = grants(&t, "RedactSessionRole");
    let queue = |name: &str| serde_json::json!({"Fn::GetAtt": [name, "Arn"]}).to_string();
    assert!(redact.contains(&("sqs:SendMessage".into(), queue("StepQueue"))), "erasures go on the step queue");
    assert!(!redact.iter().any(|(a, _)| a.starts_with("s3:")), "the HTTP function never touches the bucket");

    let step = grants(&t, "ProcessStepRole");
    let deletes: Vec<&String> = step.iter().filter(|(a, _)| a == "s3:DeleteObject").map(|(_, r)| r).collect();
    assert_eq!(deletes.len(), 1);
    assert!(deletes[0].contains("${Bucket.Arn}/sessions/*"), "{}", deletes[0]);
    let listing = t.resource("ProcessStepRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "s3:ListBucket")
        .expect("the erasure lists the session's prefix")
        .clone();
    assert_eq!(listing["Condition"]["StringLike"]["s3:prefix"], "sessions/*");

    let deliver = grants(&t, "DeliverWebhookRole");
    let table = serde_json::json!({"Fn::GetAtt": ["Table", "Arn"]}).to_string();
    assert!(deliver.contains(&("dynamodb:PutItem".into(), table)), "attempts are appended to the session");
}
