//! What building each SDK client costs at a cold start (README "Cold start"): every run is a
//! fresh process that builds the shared configuration, then the DynamoDB, SQS and S3
//! adapters in a rotating order, timing each. Reported: the median for a client built first
//! (it also pays for the SDK code they share) and built after another.
//!
//! `cargo run --release -p shared --features aws --example sdk_clients -- [RUNS]`

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use shared::objects::s3::S3Objects;
use shared::queue::sqs::SqsQueue;
use shared::store::dynamodb::DynamoStore;

const ORDERS: [&str; 3] = ["dqo", "qod", "odq"];

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "40".into());
    if let Some(order) = arg.strip_prefix("--build=") {
        return build(order);
    }
    let runs: usize = arg.parse().expect("RUNS is a number");
    let (mut first, mut later, mut config) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    for run in 0..runs * ORDERS.len() {
        let order = ORDERS[run % ORDERS.len()];
        let out = Command::new(std::env::current_exe().unwrap())
            .arg(format!("--build={order}"))
            .envs([("AWS_REGION", "ap-southeast-2"), ("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")])
            .output()
            .expect("the harness runs itself");
        let line = String::from_utf8(out.stdout).unwrap();
        for (i, field) in line.split_whitespace().enumerate() {
            let (name, micros) = field.split_once('=').unwrap();
            let micros: u64 = micros.parse().unwrap();
            match i {
                0 => config.push(micros),
                1 => first.entry(name.to_owned()).or_insert_with(Vec::new).push(micros),
                _ => later.entry(name.to_owned()).or_insert_with(Vec::new).push(micros),
            }
        }
    }
    println!("{} fresh processes; median µs", runs * ORDERS.len());
    println!("SDK configuration: {}", median(&mut config));
    for (name, built_first) in &mut first {
        let after = later.get_mut(name).map(|v| median(v)).unwrap_or_default();
        println!("{name}: built first {}, built after another {after}", median(built_first));
    }
}

fn build(order: &str) {
    let started = Instant::now();
    let aws = shared::sdk::from_env().expect("configuration from the environment");
    let mut fields = vec![format!("config={}", started.elapsed().as_micros())];
    // Kept until the end, so no drop is timed.
    let mut built: Vec<Box<dyn std::any::Any>> = Vec::new();
    for client in order.chars() {
        let started = Instant::now();
        let name = match client {
            'd' => {
                built.push(Box::new(DynamoStore::from_config(&aws, "t")));
                "dynamodb"
            }
            'q' => {
                built.push(Box::new(SqsQueue::from_config(&aws, "https://sqs.ap-southeast-2.amazonaws.com/1/q")));
                "sqs"
            }
            _ => {
                built.push(Box::new(S3Objects::from_config(&aws, "b").expect("S3 adapter")));
                "s3"
            }
        };
        fields.push(format!("{name}={}", started.elapsed().as_micros()));
    }
    println!("{}", fields.join(" "));
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}
