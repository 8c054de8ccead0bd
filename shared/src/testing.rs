//! Fixtures for tests of the functions and the local server: an in-memory embedded
//! store with the demo tenant, in local mode.

use std::sync::Arc;

use crate::config::{Mode, Settings};
use crate::domain::{ExpiresIn, Metadata, Person, RedirectUrl};
use crate::domain::{NewSession, Reference, Session, SessionId, Tenant, UrlPolicy};
use crate::ports::{Clock, SessionStore, SystemClock};
use crate::service::{Identity, ensure_demo_tenant};
use crate::store::sqlite::SqliteStore;

pub struct Demo {
    pub app: Identity,
    pub store: Arc<SqliteStore>,
    pub tenant: Tenant,
    /// Where the app queues redactions' erasures (nothing consumes it here).
    pub erasure: Arc<crate::queue::local::LocalQueue>,
}

pub async fn demo() -> Demo {
    demo_with_clock(Arc::new(SystemClock)).await
}

pub async fn demo_with_clock(clock: Arc<dyn Clock>) -> Demo {
    let settings = Settings::new(Mode::Local, "http://127.0.0.1:8080").expect("valid local settings");
    let store = Arc::new(SqliteStore::in_memory().expect("in-memory sqlite"));
    let tenant = ensure_demo_tenant(&*store, &settings, clock.now()).await.expect("demo tenant");
    let erasure = Arc::new(crate::queue::local::LocalQueue::new(
        "erasure",
        crate::queue::local::QueueSettings { visibility_timeout: std::time::Duration::ZERO, max_receives: 5 },
    ));
    let app = Identity::new(store.clone(), store.clone(), clock, settings).with_erasure(erasure.clone());
    Demo { app, store, tenant, erasure }
}

impl Demo {
    /// Stores an open session with a chosen id, as if created through the API.
    pub async fn seed_session(&self, id: &str) -> Session {
        let id = SessionId::parse(id).expect("session id");
        let session = open_session(id, &self.tenant, self.app.now());
        self.store.insert_session(&session, None, self.app.now()).await.expect("insert session");
        session
    }
}

/// What the outbox tests read with: a tenant with a webhook URL, one open session of it (with
/// a chosen id), and an identity on the demo's store whose webhooks go to `hooks`.
pub struct OutboxReader {
    pub identity: Identity,
    pub hooks: Arc<crate::queue::local::LocalQueue>,
    pub tenant: Tenant,
    pub session: SessionId,
}

pub async fn outbox_reader(demo: &Demo, session: SessionId) -> OutboxReader {
    use crate::queue::local::{LocalQueue, QueueSettings};
    let spec = crate::service::TenantSpec {
        webhook_url: Some("http://127.0.0.1:9/hooks".into()),
        ..crate::service::TenantSpec::new("Outbox", &["https://yourapp.com"])
    };
    let (settings, now) = (demo.app.settings().clone(), demo.app.now());
    let (tenant, _) =
        crate::service::create_tenant(&*demo.store, settings.url_policy(), spec, now).await.expect("tenant");
    demo.store.insert_session(&open_session(session, &tenant, now), None, now).await.expect("insert session");
    let visibility = std::time::Duration::from_secs(60);
    let hooks =
        Arc::new(LocalQueue::new("webhooks", QueueSettings { visibility_timeout: visibility, max_receives: 5 }));
    let identity = Identity::new(demo.store.clone(), demo.store.clone(), Arc::new(SystemClock), settings)
        .with_webhooks(hooks.clone());
    OutboxReader { identity, hooks, tenant, session }
}

impl OutboxReader {
    /// The delivery jobs queued so far (each received once).
    pub async fn queued_jobs(&self) -> Vec<crate::webhooks::DeliveryJob> {
        let got = self.hooks.receive(10, std::time::Duration::ZERO).await;
        got.iter().map(|(d, _)| serde_json::from_str(&d.body).expect("a delivery job")).collect()
    }

    /// The event types queued so far (each received once).
    pub async fn queued(&self) -> Vec<String> {
        self.queued_jobs().await.into_iter().map(|job| job.event.event_type).collect()
    }
}

/// An open session of `tenant`'s default steps, as if created through the API at `now`.
pub fn open_session(id: SessionId, tenant: &Tenant, now: i64) -> Session {
    let new = NewSession {
        reference: Reference::parse("cust_00123").expect("reference"),
        redirect_url: RedirectUrl::parse("https://yourapp.com/verified", UrlPolicy::HttpsOnly).expect("url"),
        steps: tenant.default_steps.clone(),
        person: Person::default(),
        min_age: None,
        threshold: tenant.default_threshold,
        webhook_url: None,
        locale: None,
        expires_in: ExpiresIn::DEFAULT.seconds(),
        metadata: Metadata::default(),
    };
    Session::open(id, tenant.id.clone(), new, Vec::new(), now)
}

/// A noisy image (incompressible, so it passes the minimum upload size), as PNG bytes.
pub fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_u32;
    let img = image::ImageBuffer::from_fn(width, height, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        image::Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
    out.into_inner()
}

/// The embedded pipeline over a demo: files under `dir`, an in-process step queue with a
/// dead-letter queue (visibility 0, so retries are immediate), sandbox checks.
pub struct LocalPipeline {
    pub pipeline: crate::pipeline::Pipeline,
    pub objects: Arc<crate::objects::local::LocalObjects>,
    pub queue: Arc<crate::queue::local::LocalQueue>,
    pub dlq: Arc<crate::queue::local::LocalQueue>,
}

pub fn local_pipeline(demo: &Demo, dir: &std::path::Path, max_receives: u32) -> LocalPipeline {
    local_pipeline_with(demo, dir, max_receives, Arc::new(crate::pipeline::sandbox::SandboxChecks))
}

/// [`local_pipeline`] with chosen check providers.
pub fn local_pipeline_with(
    demo: &Demo,
    dir: &std::path::Path,
    max_receives: u32,
    checks: Arc<dyn crate::pipeline::checks::CheckProvider>,
) -> LocalPipeline {
    let identity = |_: Arc<crate::queue::local::LocalQueue>| {
        Identity::new(demo.store.clone(), demo.store.clone(), Arc::new(SystemClock), demo.app.settings().clone())
    };
    local_pipeline_around(identity, dir, max_receives, checks)
}

/// [`local_pipeline_with`] around an identity built by `identity`, which is given the
/// step queue (to queue erasures on, with [`Identity::with_erasure`]).
pub fn local_pipeline_around(
    identity: impl FnOnce(Arc<crate::queue::local::LocalQueue>) -> Identity,
    dir: &std::path::Path,
    max_receives: u32,
    checks: Arc<dyn crate::pipeline::checks::CheckProvider>,
) -> LocalPipeline {
    use crate::queue::local::{LocalQueue, QueueSettings};
    let objects =
        Arc::new(crate::objects::local::LocalObjects::new(dir.to_path_buf(), "http://127.0.0.1:8080".into(), [7; 32]));
    let zero = std::time::Duration::ZERO;
    let dlq = Arc::new(LocalQueue::new("steps-dlq", QueueSettings { visibility_timeout: zero, max_receives: 1 }));
    let queue = Arc::new(
        LocalQueue::new("steps", QueueSettings { visibility_timeout: zero, max_receives })
            .with_dead_letter(dlq.clone()),
    );
    let identity = Arc::new(identity(queue.clone()));
    let pipeline = crate::pipeline::Pipeline::new(identity, objects.clone(), queue.clone(), checks, max_receives);
    LocalPipeline { pipeline, objects, queue, dlq }
}

impl LocalPipeline {
    /// What a browser does with an upload slot: the presigned POST, accepted by the store.
    pub async fn store_capture(&self, key: &str, content_type: &str, bytes: &[u8]) {
        use crate::objects::{ObjectSigner, UploadPolicy};
        let policy = UploadPolicy {
            key: key.into(),
            content_type: content_type.into(),
            min_bytes: crate::artifacts::MIN_BYTES,
            max_bytes: crate::artifacts::MAX_BYTES,
            expires_in: std::time::Duration::from_secs(600),
        };
        let now = SystemClock.now();
        let post = self.objects.presign_post(&policy, now).await.expect("presign");
        self.objects.accept_upload(&post.fields, Some(content_type), bytes, now).expect("upload accepted");
    }
}
