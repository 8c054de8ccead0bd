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
}

pub async fn demo() -> Demo {
    demo_with_clock(Arc::new(SystemClock)).await
}

pub async fn demo_with_clock(clock: Arc<dyn Clock>) -> Demo {
    let settings = Settings::new(Mode::Local, "http://127.0.0.1:8080").expect("valid local settings");
    let store = Arc::new(SqliteStore::in_memory().expect("in-memory sqlite"));
    let tenant = ensure_demo_tenant(&*store, &settings, clock.now()).await.expect("demo tenant");
    let app = Identity::new(store.clone(), store.clone(), clock, settings);
    Demo { app, store, tenant }
}

impl Demo {
    /// Stores an open session with a chosen id, as if created through the API.
    pub async fn seed_session(&self, id: &str) -> Session {
        let new = NewSession {
            reference: Reference::parse("cust_00123").expect("reference"),
            redirect_url: RedirectUrl::parse("https://yourapp.com/verified", UrlPolicy::HttpsOnly).expect("url"),
            steps: self.tenant.default_steps.clone(),
            person: Person::default(),
            min_age: None,
            threshold: self.tenant.default_threshold,
            webhook_url: None,
            locale: None,
            expires_in: ExpiresIn::DEFAULT.seconds(),
            metadata: Metadata::default(),
        };
        let id = SessionId::parse(id).expect("session id");
        let session = Session::open(id, self.tenant.id.clone(), new, self.app.now());
        self.store.insert_session(&session, None, self.app.now()).await.expect("insert session");
        session
    }
}
