//! The pair a city's bureau runs on, PostgreSQL and an S3-compatible store, for
//! running a suite once more on it: chosen by `FIELDLEAD_TEST_BACKENDS=postgres+s3`
//! (scripts/test sets it for the second run of the API and sync suites). Both
//! servers are real and the test's own, started for a data folder and stopped
//! when the last bureau on that folder is gone; a bureau restarted on the same
//! folder finds the same database and bucket.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use fieldlead_bureau::Config;

use super::postgres::PgCluster;
use super::s3::S3Server;

pub struct CityBackends {
    pub database_url: String,
    pub blobs_url: String,
    pub s3_env: Vec<(String, String)>,
    // Dropped last, after every bureau holding the URLs.
    pub pg: PgCluster,
    _s3: S3Server,
}

/// The suite runs on PostgreSQL + S3 instead of the embedded default.
pub fn on_city_backends() -> bool {
    match std::env::var("FIELDLEAD_TEST_BACKENDS").as_deref() {
        Ok("postgres+s3") => true,
        Ok("") | Err(_) => false,
        Ok(other) => panic!("FIELDLEAD_TEST_BACKENDS={other}: only postgres+s3 is known"),
    }
}

type Registry = Mutex<HashMap<PathBuf, Weak<CityBackends>>>;

fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl CityBackends {
    pub fn start() -> CityBackends {
        let pg = PgCluster::start();
        let s3 = S3Server::start();
        CityBackends {
            database_url: pg.new_database(),
            blobs_url: s3.new_bucket(),
            s3_env: s3.env(),
            pg,
            _s3: s3,
        }
    }

    /// The servers of the bureau on `data` when the suite runs on them: those
    /// already started for that folder, or new ones. `None` on the default.
    pub fn for_data(data: &Path) -> Option<Arc<CityBackends>> {
        if !on_city_backends() {
            return None;
        }
        let mut map = registry().lock().unwrap();
        map.retain(|_, w| w.strong_count() > 0);
        if let Some(b) = map.get(data).and_then(Weak::upgrade) {
            return Some(b);
        }
        let b = Arc::new(CityBackends::start());
        map.insert(data.to_path_buf(), Arc::downgrade(&b));
        Some(b)
    }

    /// Points a bureau's configuration at these servers.
    pub fn apply(&self, config: &mut Config) {
        config.database_url = Some(self.database_url.clone());
        config.blobs_url = Some(self.blobs_url.clone());
        config.object_store_env = fieldlead_bureau::config::ObjectStoreEnv(self.s3_env.clone());
    }
}
