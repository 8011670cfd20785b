//! Integration keys → integration, service and format. Read from the
//! catalog and kept in memory; reloaded when a key is unknown (at most once
//! per `reload_every`, so a flood of bad keys cannot hammer the database)
//! and periodically, so applied changes take effect.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tocsin_domain::Name;
use tocsin_domain::catalog::{IntegrationFormat, Kind, Object};
use tocsin_store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct KnownIntegration {
    pub name: Name,
    pub service: Name,
    pub format: IntegrationFormat,
}

#[derive(Debug, Default)]
struct Loaded {
    by_key: HashMap<String, KnownIntegration>,
    depends_on: Arc<HashMap<Name, Vec<Name>>>,
    at: Option<Timestamp>,
}

#[derive(Debug)]
pub struct IntegrationIndex {
    store: Arc<dyn Store>,
    loaded: RwLock<Loaded>,
    reload_every: SignedDuration,
    max_age: SignedDuration,
}

impl IntegrationIndex {
    pub fn new(store: Arc<dyn Store>) -> Self {
        IntegrationIndex {
            store,
            loaded: RwLock::new(Loaded::default()),
            // A key applied a moment ago is found on its first use: a miss
            // reloads unless the last load is younger than this.
            reload_every: SignedDuration::from_millis(250),
            max_age: SignedDuration::from_secs(30),
        }
    }

    /// The integration a key belongs to, if any.
    pub async fn lookup(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<KnownIntegration>, StoreError> {
        let (hit, stale, may_reload) = {
            let l = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            let age = l.at.map(|at| now.duration_since(at));
            (
                l.by_key.get(key).cloned(),
                age.is_none_or(|a| a > self.max_age),
                age.is_none_or(|a| a > self.reload_every),
            )
        };
        if (hit.is_none() && may_reload) || stale {
            self.reload(now).await?;
            let l = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            return Ok(l.by_key.get(key).cloned());
        }
        Ok(hit)
    }

    /// The service dependency graph as of the last load.
    pub fn depends_on(&self) -> Arc<HashMap<Name, Vec<Name>>> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .depends_on
            .clone()
    }

    pub async fn reload(&self, now: Timestamp) -> Result<(), StoreError> {
        let objects = self.store.list_objects(None).await?;
        let mut by_key = HashMap::new();
        let mut depends_on = HashMap::new();
        for o in objects {
            match (o.kind, o.secret) {
                (Kind::Integration, Some(secret)) => {
                    if let Ok(Object::Integration(i)) = Object::from_spec(Kind::Integration, o.spec)
                    {
                        by_key.insert(
                            secret,
                            KnownIntegration {
                                name: i.name,
                                service: i.service,
                                format: i.format,
                            },
                        );
                    }
                }
                (Kind::Service, _) => {
                    if let Ok(Object::Service(s)) = Object::from_spec(Kind::Service, o.spec)
                        && !s.depends_on.is_empty()
                    {
                        depends_on.insert(s.name, s.depends_on);
                    }
                }
                _ => {}
            }
        }
        let mut l = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        *l = Loaded {
            by_key,
            depends_on: Arc::new(depends_on),
            at: Some(now),
        };
        Ok(())
    }
}
