//! Integration keys → integration, service, format and severity table, and
//! the alerting [`Policy`] (dependencies, grouping, silences, maintenance
//! windows). Read from the catalog and kept in memory; reloaded when a key
//! is unknown (at most once per `reload_every`, so a flood of bad keys
//! cannot hammer the database), periodically (every `max_age`), so changes
//! applied elsewhere take effect, and at once by [`IntegrationIndex::reload`]
//! after a change made through this instance.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tocsin_domain::Name;
use tocsin_domain::alerting::Policy;
use tocsin_domain::catalog::{IntegrationFormat, Object};
use tocsin_domain::ingest::SeverityMap;
use tocsin_store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct KnownIntegration {
    pub name: Name,
    pub service: Name,
    pub format: IntegrationFormat,
    /// The format's severity table with this integration's overrides.
    pub severity: Arc<SeverityMap>,
}

#[derive(Debug, Default)]
struct Loaded {
    by_key: HashMap<String, KnownIntegration>,
    policy: Arc<Policy>,
    at: Option<Timestamp>,
}

#[derive(Debug)]
pub struct IntegrationIndex {
    store: Arc<dyn Store>,
    defaults: Arc<SeverityMap>,
    loaded: RwLock<Loaded>,
    reload_every: SignedDuration,
    max_age: SignedDuration,
}

impl IntegrationIndex {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_severity_map(store, SeverityMap::default())
    }

    /// An index whose integrations start from `defaults` (the documented
    /// table unless the server was given another).
    pub fn with_severity_map(store: Arc<dyn Store>, defaults: SeverityMap) -> Self {
        IntegrationIndex {
            store,
            defaults: Arc::new(defaults),
            loaded: RwLock::new(Loaded::default()),
            // A key applied a moment ago is found on its first use: a miss
            // reloads unless the last load is younger than this.
            reload_every: SignedDuration::from_millis(250),
            // Silences and maintenance windows applied by another process
            // (`tocsin apply`, another instance) take effect within this.
            max_age: SignedDuration::from_secs(5),
        }
    }

    /// The severity table integrations start from.
    pub fn severity_defaults(&self) -> &SeverityMap {
        &self.defaults
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

    /// The alerting policy as of the last load; reloads first when that
    /// load is older than `max_age`.
    pub async fn policy(&self, now: Timestamp) -> Result<Arc<Policy>, StoreError> {
        let stale = {
            let l = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            l.at.is_none_or(|at| now.duration_since(at) > self.max_age)
        };
        if stale {
            self.reload(now).await?;
        }
        Ok(self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .policy
            .clone())
    }

    pub async fn reload(&self, now: Timestamp) -> Result<(), StoreError> {
        let stored = self.store.list_objects(None).await?;
        let mut by_key = HashMap::new();
        let mut objects = Vec::with_capacity(stored.len());
        for o in stored {
            let Ok(object) = Object::from_spec(o.kind, o.spec) else {
                tracing::warn!(kind = %o.kind, name = %o.name, "stored object does not parse; ignored");
                continue;
            };
            if let (Object::Integration(i), Some(secret)) = (&object, o.secret) {
                let severity = if i.severity_map.is_empty() && i.default_severity.is_none() {
                    self.defaults.clone()
                } else {
                    Arc::new(self.defaults.with_overrides(
                        i.format,
                        &i.severity_map,
                        i.default_severity,
                    ))
                };
                by_key.insert(
                    secret,
                    KnownIntegration {
                        name: i.name.clone(),
                        service: i.service.clone(),
                        format: i.format,
                        severity,
                    },
                );
            }
            objects.push(object);
        }
        let (policy, skipped) = Policy::from_objects(&objects);
        for (name, why) in skipped {
            tracing::warn!(%name, reason = %why, "silence or maintenance window ignored");
        }
        let mut l = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        *l = Loaded {
            by_key,
            policy: Arc::new(policy),
            at: Some(now),
        };
        Ok(())
    }
}
