//! Black-box harness: runs the real `total-identity` binary over a chosen store and
//! talks to it over HTTP.

#![allow(dead_code)]

pub mod journey;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub const DEMO_KEY: &str = "ti_test_local_demo_key_do_not_use_in_production";
const BIN: &str = env!("CARGO_BIN_EXE_total-identity");

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Embedded,
    Dynamodb,
}

/// Store arguments shared by the server and the admin command, so both see the same data.
pub struct Storage {
    pub backend: Backend,
    pub data_dir: tempfile::TempDir,
    pub table: String,
}

impl Storage {
    /// `None` when DynamoDB was asked for but deliberately skipped (`TI_SKIP_DYNAMODB=1`).
    pub fn new(backend: Backend) -> Option<Self> {
        if matches!(backend, Backend::Dynamodb) && std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
            if std::env::var("TI_SKIP_DYNAMODB").as_deref() == Ok("1") {
                eprintln!("skipping DynamoDB variant: TI_SKIP_DYNAMODB=1");
                return None;
            }
            panic!("AWS_ENDPOINT_URL_DYNAMODB is not set: run `scripts/test`, or set TI_SKIP_DYNAMODB=1");
        }
        Some(Self {
            backend,
            data_dir: tempfile::tempdir().expect("temp dir"),
            table: format!("e2e-{}", uuid::Uuid::new_v4().simple()),
        })
    }

    fn args(&self) -> Vec<String> {
        match self.backend {
            Backend::Embedded => {
                vec![
                    "--store".into(),
                    "embedded".into(),
                    "--data-dir".into(),
                    self.data_dir.path().display().to_string(),
                ]
            }
            Backend::Dynamodb => vec!["--store".into(), "dynamodb".into(), "--table".into(), self.table.clone()],
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("TI_STORE").env_remove("TI_DATA_DIR").env_remove("TI_TABLE").env_remove("TI_PUBLIC_URL");
        cmd
    }

    /// Creates a tenant through the admin command and returns its JSON (with `api_key`).
    pub fn create_tenant(&self, origins: &[&str]) -> Value {
        let mut args = vec!["--name", "Second Co"];
        for o in origins {
            args.extend(["--redirect-origin", o]);
        }
        self.create_tenant_with(&args)
    }

    /// `tenant create --json` with these arguments (name, origins, branding flags...).
    pub fn create_tenant_with(&self, args: &[&str]) -> Value {
        let mut cmd = self.command();
        cmd.args(["tenant", "create", "--json"]).args(args);
        let out = cmd.args(self.args()).output().expect("run tenant create");
        assert!(out.status.success(), "tenant create failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("tenant JSON")
    }

    pub fn start(&self) -> Server {
        self.start_with(&[("RUST_LOG", "warn")], Stdio::inherit())
    }

    /// The server with these environment variables and its logs (stderr) sent to `logs`.
    pub fn start_with(&self, env: &[(&str, &str)], logs: Stdio) -> Server {
        let mut child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(self.args())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(logs)
            .spawn()
            .expect("start server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("server exited before listening").expect("read stdout");
            if let Some(base) = line.strip_prefix("listening on ") {
                break base.to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base, http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap() }
    }
}

pub struct Server {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts an error reply's status, code and field.
    pub fn assert_error(&self, status: u16, code: &str, field: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["status"], "error", "{}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        assert_eq!(self.body["error"]["field"], field, "{}", self.body);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

impl Server {
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") };
        Reply { status, headers, body }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn create(&self, key: &str, body: &Value, idempotency_key: Option<&str>) -> Reply {
        let mut req = self.http.post(self.url("/identity")).bearer_auth(key).json(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        self.send(req).await
    }

    pub async fn get(&self, key: &str, id: &str) -> Reply {
        self.send(self.http.get(self.url(&format!("/identity/{id}"))).bearer_auth(key)).await
    }

    pub async fn cancel(&self, key: &str, id: &str) -> Reply {
        self.send(self.http.delete(self.url(&format!("/identity/{id}"))).bearer_auth(key)).await
    }

    /// The tenant's sessions for a reference.
    pub async fn list(&self, key: &str, reference: &str) -> Vec<Value> {
        let reply =
            self.send(self.http.get(self.url("/identity")).query(&[("reference", reference)]).bearer_auth(key)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["data"].as_array().expect("data").clone()
    }
}

/// The brief's example request with a chosen reference.
pub fn example(reference: &str) -> Value {
    json!({
        "reference": reference,
        "redirect_url": "https://yourapp.com/verified",
        "steps": ["document", "liveness", "dvs"],
        "first_name": "Jane",
        "last_name": "Smith",
        "birth_date": "1990-01-31"
    })
}

/// Runs a test body against each backend.
#[macro_export]
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test]
            async fn $name() {
                if let Some(storage) = $crate::common::Storage::new($crate::common::Backend::Embedded) {
                    super::$name(storage).await;
                }
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $name() {
                if let Some(storage) = $crate::common::Storage::new($crate::common::Backend::Dynamodb) {
                    super::$name(storage).await;
                }
            })*
        }
    };
}

/// Runs `cmd` in its own process group and waits at most `limit`; past it, the whole group
/// (node and the browsers it launched) is killed and the test fails, instead of a hung child
/// holding the suite open until CI's own deadline.
pub fn status_within(cmd: &mut Command, limit: Duration, what: &str) -> std::process::ExitStatus {
    use std::os::unix::process::CommandExt;
    let mut child = cmd.process_group(0).spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            return status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            panic!("{what} was still running after {}s and was killed", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
