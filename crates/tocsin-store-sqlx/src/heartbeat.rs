//! [`HeartbeatStore`](tocsin_store::HeartbeatStore): a batch of pings in
//! one transaction (read the batch's heartbeats, apply the domain rules
//! ping by ping, write the pings and the states in chunked multi-row
//! statements), the engine's compare-and-set on status, the alert flag,
//! the recent pings and their pruning.
//!
//! Invariants: a batch is all or nothing; a heartbeat's pings are applied
//! in the order given; a ping never writes `alert_open`.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_heartbeat_store {
    ($store:ty) => {
        #[async_trait]
        impl $crate::__private::tocsin_store::HeartbeatStore for $store {
            async fn record_pings(
                &self,
                pings: &[$crate::__private::tocsin_store::NewPing],
            ) -> Result<Vec<$crate::__private::tocsin_store::PingRecorded>, StoreError> {
                use $crate::__private::tocsin_domain::heartbeat::{Ping, Rule, State};
                if pings.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                let result: Result<Vec<_>, StoreError> = async {
                    // The batch's heartbeats, in first-ping order.
                    let mut names: Vec<&str> = Vec::new();
                    let mut states: ::std::collections::HashMap<&str, State> =
                        ::std::collections::HashMap::new();
                    for p in pings {
                        if !states.contains_key(p.heartbeat.as_str()) {
                            states.insert(p.heartbeat.as_str(), State::default());
                            names.push(p.heartbeat.as_str());
                        }
                    }
                    for chunk in names.chunks(sql::HEARTBEAT_CHUNK) {
                        let text = sql::heartbeats_named(<$store as Dialect>::BACKEND, chunk.len());
                        let mut q =
                            sqlx::query_as::<_, sql::HeartbeatRow>(sqlx::AssertSqlSafe(text))
                                .persistent(chunk.len() == sql::HEARTBEAT_CHUNK);
                        for n in chunk {
                            q = q.bind(*n);
                        }
                        for row in q.fetch_all(&mut *tx).await.map_err(map)? {
                            let r = sql::heartbeat_from_row(row)?;
                            if let Some((k, _)) = states.remove_entry(r.name.as_str()) {
                                states.insert(k, r.state);
                            }
                        }
                    }
                    let mut results = Vec::with_capacity(pings.len());
                    let mut durations = Vec::with_capacity(pings.len());
                    let mut last: ::std::collections::HashMap<&str, (&Rule, Timestamp)> =
                        ::std::collections::HashMap::new();
                    for p in pings {
                        let state = states.entry(p.heartbeat.as_str()).or_default();
                        let (next, effect) = state.ping(&Ping {
                            kind: p.kind,
                            at: p.at,
                            rid: p.rid.clone(),
                        });
                        *state = next;
                        results.push($crate::__private::tocsin_store::PingRecorded {
                            status: state.status(&p.rule, p.at),
                            duration: effect.duration,
                        });
                        durations.push(
                            effect
                                .duration
                                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                        );
                        let at = last
                            .get(p.heartbeat.as_str())
                            .map_or(p.at, |(_, t)| (*t).max(p.at));
                        last.insert(p.heartbeat.as_str(), (p.rule.as_ref(), at));
                    }
                    let mut offset = 0;
                    for chunk in pings.chunks(sql::HEARTBEAT_CHUNK) {
                        let text =
                            sql::insert_heartbeat_pings(<$store as Dialect>::BACKEND, chunk.len());
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(text))
                            .persistent(chunk.len() == sql::HEARTBEAT_CHUNK);
                        for (i, p) in chunk.iter().enumerate() {
                            q = q
                                .bind(p.heartbeat.as_str())
                                .bind(sql::millis(p.at))
                                .bind(p.kind.as_str())
                                .bind(p.exit_status.map(i64::from))
                                .bind(p.rid.as_deref())
                                .bind(durations[offset + i])
                                .bind(p.method)
                                .bind(p.body.as_str())
                                .bind(p.truncated);
                        }
                        q.execute(&mut *tx).await.map_err(map)?;
                        offset += chunk.len();
                    }
                    // Each heartbeat's row: state, status and next check at
                    // its last ping's time.
                    let rows: Vec<(&str, String, &'static str, Option<i64>, Option<i64>, i64)> =
                        names
                            .iter()
                            .filter_map(|n| {
                                let (rule, at) = last.get(n).copied()?;
                                let state = states.get(n)?;
                                Some((
                                    *n,
                                    sql::heartbeat_state_json(state),
                                    state.status(rule, at).as_str(),
                                    state.last_ping.map(sql::millis),
                                    state.next_change(rule, at).map(sql::millis),
                                    sql::millis(at),
                                ))
                            })
                            .collect();
                    for chunk in rows.chunks(sql::HEARTBEAT_CHUNK) {
                        let text =
                            sql::upsert_heartbeats(<$store as Dialect>::BACKEND, chunk.len());
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(text))
                            .persistent(chunk.len() == sql::HEARTBEAT_CHUNK);
                        for (name, state, status, last_ping, check_at, at) in chunk {
                            q = q
                                .bind(*name)
                                .bind(state.as_str())
                                .bind(*status)
                                .bind(*last_ping)
                                .bind(*check_at)
                                .bind(*at);
                        }
                        q.execute(&mut *tx).await.map_err(map)?;
                    }
                    Ok(results)
                }
                .await;
                $crate::finish::<$store, _>(tx, result, "heartbeat pings").await
            }

            async fn heartbeats(
                &self,
            ) -> Result<Vec<$crate::__private::tocsin_store::HeartbeatRecord>, StoreError> {
                let rows: Vec<sql::HeartbeatRow> = sqlx::query_as(sql::HEARTBEATS_ALL)
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::heartbeat_from_row).collect()
            }

            async fn heartbeat(
                &self,
                name: &Name,
            ) -> Result<Option<$crate::__private::tocsin_store::HeartbeatRecord>, StoreError> {
                let row: Option<sql::HeartbeatRow> = sqlx::query_as(sql::HEARTBEAT_BY_NAME)
                    .bind(name.as_str())
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::heartbeat_from_row).transpose()
            }

            async fn heartbeats_due(
                &self,
                now: Timestamp,
            ) -> Result<Vec<$crate::__private::tocsin_store::HeartbeatRecord>, StoreError> {
                let rows: Vec<sql::HeartbeatRow> = sqlx::query_as(sql::HEARTBEATS_DUE)
                    .bind(sql::millis(now))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::heartbeat_from_row).collect()
            }

            async fn set_heartbeat_status(
                &self,
                name: &Name,
                version: i64,
                status: $crate::__private::tocsin_domain::heartbeat::Status,
                check_at: Option<Timestamp>,
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::SET_HEARTBEAT_STATUS)
                    .bind(name.as_str())
                    .bind(version)
                    .bind(status.as_str())
                    .bind(check_at.map(sql::millis))
                    .bind(sql::millis(now))
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_heartbeat_alert(&self, name: &Name, open: bool) -> Result<(), StoreError> {
                sqlx::query(sql::SET_HEARTBEAT_ALERT)
                    .bind(name.as_str())
                    .bind(open)
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(())
            }

            async fn heartbeat_pings(
                &self,
                name: &Name,
                limit: u32,
            ) -> Result<Vec<$crate::__private::tocsin_store::PingRecord>, StoreError> {
                let rows: Vec<sql::HeartbeatPingRow> = sqlx::query_as(sql::HEARTBEAT_PINGS_RECENT)
                    .bind(name.as_str())
                    .bind(sql::heartbeat_pings_limit(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::heartbeat_ping_from_row).collect()
            }

            async fn prune_heartbeat_pings(
                &self,
                name: &Name,
                keep: u32,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::PRUNE_HEARTBEAT_PINGS)
                    .bind(name.as_str())
                    .bind(i64::from(keep))
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected())
            }
        }
    };
}
