"""Creates the template's table (with its stream), queues and bucket on DynamoDB Local and
LocalStack, and derives what cargo lambda watch and the pollers need: each function's environment,
the HTTP routes and the event source mappings (SQS and DynamoDB streams). Everything comes from
the template; the few local differences are listed in LOCAL_DIFFERENCES and printed."""

import json

import streams
import template as tpl

FUNCTION = "AWS::Serverless::Function"

LOCAL_DIFFERENCES = [
    "TI_PUBLIC_URL: the API's public URL becomes the local cargo lambda watch URL",
    "TI_MODE: local instead of cloud (plain-http localhost URLs)",
    "secrets: {{resolve:secretsmanager:...}} read from the local keys file",
    "not created: IAM roles, log groups, alarms, API Gateway and Lambda resources "
    "(cargo lambda watch and the poller stand in), the bucket's TLS-only policy (local endpoints are http), "
    "point-in-time recovery (DynamoDB Local has no backups)",
    "DynamoDB stream mappings: the local poller reads DynamoDB Local's stream (its ARNs name region "
    "ddblocal) and keeps no checkpoint across restarts (TRIM_HORIZON re-reads the retained records); "
    "retries back off from 0.5 s, doubling up to 30 s",
]


def physical_names(stack, account, region):
    """Refs and attributes of every resource, known before anything is created. Not known yet:
    queue URLs (create_queues) and a table's StreamArn (create_table), or stand_ins for both."""
    for name, res in stack.resources.items():
        kind, props = res["Type"], res.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            table = stack.eval(props["TableName"])
            stack.refs[name] = table
            stack.attributes[(name, "Arn")] = f"arn:aws:dynamodb:{region}:{account}:table/{table}"
        elif kind == "AWS::SQS::Queue":
            queue = stack.eval(props["QueueName"])
            stack.attributes[(name, "QueueName")] = queue
            stack.attributes[(name, "Arn")] = f"arn:aws:sqs:{region}:{account}:{queue}"
        elif kind == "AWS::S3::Bucket":
            bucket = stack.eval(props["BucketName"])
            stack.refs[name] = bucket
            stack.attributes[(name, "Arn")] = f"arn:aws:s3:::{bucket}"
        elif kind == "AWS::ApiGatewayV2::Api":
            stack.refs[name] = "local"
        elif kind == FUNCTION:
            binary = res["Metadata"]["BuildProperties"]["Binary"]
            stack.refs[name] = binary
            stack.attributes[(name, "Arn")] = f"arn:aws:lambda:{region}:{account}:function:{binary}"
        else:
            stack.refs[name] = name


def stand_ins(stack, endpoint):
    """What only exists once created, for reading the template without creating anything (env, tests)."""
    for name, _ in stack.of_type("AWS::SQS::Queue"):
        stack.refs[name] = f"{endpoint}/{stack.pseudo['AWS::AccountId']}/{stack.attributes[(name, 'QueueName')]}"
    for name, res in stack.of_type("AWS::DynamoDB::Table"):
        if "StreamSpecification" in res["Properties"]:
            stack.attributes[(name, "StreamArn")] = stack.attributes[(name, "Arn")] + "/stream/not-created"


def create_queues(stack, sqs, log):
    """Dead-letter queues first: a redrive policy names an existing queue."""
    queues = list(stack.of_type("AWS::SQS::Queue"))
    queues.sort(key=lambda q: "RedrivePolicy" in q[1]["Properties"])
    for name, res in queues:
        props = stack.eval(res["Properties"])
        attrs = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "SqsManagedSseEnabled"):
            if key in props:
                attrs[key] = str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in props:
                attrs[key] = json.dumps(props[key])
        queue = props["QueueName"]
        try:
            url = sqs.create_queue(QueueName=queue, Attributes=attrs)["QueueUrl"]
        except sqs.exceptions.QueueNameExists:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        stack.refs[name] = url
        log(f"queue {queue} {attrs}")
    for name, res in stack.of_type("AWS::SQS::QueuePolicy"):
        props = stack.eval(res["Properties"])
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        log(f"queue policy {name}")


def _match_stream(dynamodb, table, current, wanted, log):
    """An existing table's stream as the template has it; a new view type needs off, then on (as in AWS)."""
    enabled = bool(current and current.get("StreamEnabled"))
    if enabled == bool(wanted) and (not enabled or current["StreamViewType"] == wanted["StreamViewType"]):
        return
    if enabled:
        dynamodb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
        dynamodb.get_waiter("table_exists").wait(TableName=table)
    if wanted:
        dynamodb.update_table(TableName=table, StreamSpecification=wanted)
    log(f"table {table}: stream {current} -> {wanted}")


def create_table(stack, dynamodb, log):
    """Creates (or matches) each table; its StreamArn is known from here on."""
    for name, res in stack.of_type("AWS::DynamoDB::Table"):
        props = stack.eval(res["Properties"])
        table = props["TableName"]
        args = {
            "TableName": table,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if "GlobalSecondaryIndexes" in props:
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "SSESpecification" in props:
            args["SSESpecification"] = {"Enabled": props["SSESpecification"]["SSEEnabled"]}
        stream = props.get("StreamSpecification")
        if stream:
            # CloudFormation's StreamSpecification is the view type alone; the API's also enables it.
            args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        try:
            dynamodb.create_table(**args)
        except dynamodb.exceptions.ResourceInUseException:
            existing = dynamodb.describe_table(TableName=table)["Table"]
            if existing["KeySchema"] != args["KeySchema"]:
                raise SystemExit(f"table {table} exists with another key schema; delete it first") from None
            _match_stream(dynamodb, table, existing.get("StreamSpecification"), args.get("StreamSpecification"), log)
        dynamodb.get_waiter("table_exists").wait(TableName=table)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            current = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]})
        if stream:
            # Only DynamoDB knows the stream's label: !GetAtt Table.StreamArn resolves from here on.
            stack.attributes[(name, "StreamArn")] = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        log(f"table {table} (key {[k['AttributeName'] for k in args['KeySchema']]}, "
            f"indexes {[i['IndexName'] for i in args.get('GlobalSecondaryIndexes', [])]}, ttl {ttl}, "
            f"stream {stack.attributes.get((name, 'StreamArn'))})")


def _lifecycle(rules):
    out = []
    for rule in rules:
        r = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "ExpirationInDays" in rule:
            r["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "AbortIncompleteMultipartUpload" in rule:
            r["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        out.append(r)
    return out


def _notifications(config):
    queues = []
    for q in config.get("QueueConfigurations", []):
        entry = {"QueueArn": q["Queue"], "Events": [q["Event"]]}
        rules = q.get("Filter", {}).get("S3Key", {}).get("Rules")
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        queues.append(entry)
    return {"QueueConfigurations": queues}


def create_bucket(stack, s3, region, localize, log):
    for name, res in stack.of_type("AWS::S3::Bucket"):
        props = localize(stack.eval(res["Properties"]))
        bucket = props["BucketName"]
        try:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=bucket,
                                       PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=props["OwnershipControls"])
        if "BucketEncryption" in props:
            # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
            rules = [{("Apply" + k if k == "ServerSideEncryptionByDefault" else k): v for k, v in rule.items()}
                     for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
        if "LifecycleConfiguration" in props:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={
                "Rules": _lifecycle(props["LifecycleConfiguration"]["Rules"])})
        if "CorsConfiguration" in props:
            cors = [{k.replace("MaxAge", "MaxAgeSeconds"): v for k, v in rule.items()}
                    for rule in props["CorsConfiguration"]["CorsRules"]]
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors})
        if "NotificationConfiguration" in props:
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration=_notifications(props["NotificationConfiguration"]))
        log(f"bucket {bucket} (public access blocked, encrypted, lifecycle, CORS "
            f"{props.get('CorsConfiguration', {}).get('CorsRules', [{}])[0].get('AllowedOrigins')}, notifications)")


def _bool(value):
    return str(value).lower() == "true"  # CloudFormation takes true and "true"


def _sqs_mapping(e):
    return {
        "queue_arn": e["Queue"],
        "batch_size": int(e.get("BatchSize", 10)),
        "batching_window": int(e.get("MaximumBatchingWindowInSeconds", 0)),
        "report_batch_item_failures": "ReportBatchItemFailures" in e.get("FunctionResponseTypes", []),
        "maximum_concurrency": int(e.get("ScalingConfig", {}).get("MaximumConcurrency", 1000)),
    }


_STREAM_PROPERTIES = {"Stream", "StartingPosition", "BatchSize", "FunctionResponseTypes", "BisectBatchOnFunctionError",
                      "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "FilterCriteria", "DestinationConfig",
                      "ParallelizationFactor", "MaximumBatchingWindowInSeconds", "Enabled"}


def _stream_mapping(name, e, function_arn):
    """A DynamoDB event as the stream poller's spec; what the poller cannot play stops here."""
    unsupported = sorted(set(e) - _STREAM_PROPERTIES)
    if unsupported:
        raise SystemExit(f"{name}: DynamoDB event properties {unsupported} have no local stand-in")
    if int(e.get("ParallelizationFactor", 1)) != 1 or int(e.get("MaximumBatchingWindowInSeconds", 0)) != 0:
        raise SystemExit(f"{name}: ParallelizationFactor over 1 or a batching window has no local stand-in")
    if e["StartingPosition"] not in ("TRIM_HORIZON", "LATEST"):
        raise SystemExit(f"{name}: StartingPosition {e['StartingPosition']} has no local stand-in")
    patterns = []
    for f in e.get("FilterCriteria", {}).get("Filters", []):
        try:
            pattern = json.loads(f["Pattern"])
            streams.check_pattern(pattern)
        except ValueError as err:
            raise SystemExit(f"{name}: filter {f['Pattern']}: {err}") from None
        patterns.append(pattern)
    destination = e.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if destination and destination.split(":")[2] != "sqs":
        raise SystemExit(f"{name}: on-failure destination {destination}: only SQS queues have a local stand-in")
    return {
        "stream_arn": e["Stream"],
        "starting_position": e["StartingPosition"],
        "batch_size": int(e.get("BatchSize", 100)),
        "report_batch_item_failures": "ReportBatchItemFailures" in e.get("FunctionResponseTypes", []),
        "bisect_batch_on_function_error": _bool(e.get("BisectBatchOnFunctionError", False)),
        "maximum_retry_attempts": int(e.get("MaximumRetryAttempts", -1)),
        "maximum_record_age": int(e.get("MaximumRecordAgeInSeconds", -1)),
        "filter_patterns": patterns,
        "on_failure_arn": destination,
        "function_arn": function_arn,
    }


def functions(stack, secret, localize):
    """Per function: binary, timeout, environment, and its event source mappings: `sqs` and
    `dynamodb` (streams). Needs StreamArn: after create_table, or stand_ins."""
    globals_ = stack.template.get("Globals", {}).get("Function", {})
    out = {}
    for name, res in stack.of_type(FUNCTION):
        props = res["Properties"]
        env = dict(globals_.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        env = localize(stack.eval(env))
        env = {k: tpl.resolve_secrets(str(v), secret) for k, v in env.items()}
        if env.get("TI_MODE") == "cloud":
            env["TI_MODE"] = "local"
        sqs, dynamodb = [], []
        for event_name, event in props.get("Events", {}).items():
            if event["Type"] not in ("SQS", "DynamoDB"):
                raise SystemExit(f"{name}: event type {event['Type']} has no local stand-in (SQS and DynamoDB have)")
            e = stack.eval(event["Properties"])
            if event["Type"] == "SQS":
                sqs.append(_sqs_mapping(e))
            elif _bool(e.get("Enabled", True)):
                dynamodb.append(_stream_mapping(f"{name}.{event_name}", e, stack.attributes[(name, "Arn")]))
        out[name] = {
            "binary": res["Metadata"]["BuildProperties"]["Binary"],
            "timeout": int(props.get("Timeout", globals_.get("Timeout", 3))),
            "env": env,
            "sqs": sqs,
            "dynamodb": dynamodb,
        }
    return out


def routes(stack):
    """HTTP routes as cargo lambda watch's router: path (matchit syntax) -> method -> binary."""
    integrations = {}
    for name, res in stack.of_type("AWS::ApiGatewayV2::Integration"):
        uri = res["Properties"]["IntegrationUri"]
        if not (isinstance(uri, dict) and "Fn::GetAtt" in uri and uri["Fn::GetAtt"][1] == "Arn"):
            raise SystemExit(f"{name}: IntegrationUri must be !GetAtt <Function>.Arn")
        integrations[name] = stack.resources[uri["Fn::GetAtt"][0]]["Metadata"]["BuildProperties"]["Binary"]
    router = {}
    for name, res in stack.of_type("AWS::ApiGatewayV2::Route"):
        method, path = res["Properties"]["RouteKey"].split(" ", 1)
        target = stack.eval(res["Properties"]["Target"])
        integration = target.removeprefix("integrations/")
        # API Gateway's greedy {proxy+} is matchit's catch-all {*proxy}.
        path = path.replace("{proxy+}", "{*proxy}")
        router.setdefault(path, []).append({"method": method, "function": integrations[integration]})
    return router
