//! [`EscalationStore`](tocsin_store::EscalationStore): a step's timeline
//! entries, intents and next job in one write transaction; every insert
//! skips a row whose key exists, so a step run twice writes once.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_escalation_store {
    ($store:ty) => {
        use $crate::__private::tocsin_store::escalation::{
            EscalationStore, IntentRecord, NewIntent, NewTimelineEntry, TimelineRecord,
        };
        use $crate::__private::tocsin_store::sql::{IntentRow, TimelineRow};

        #[async_trait]
        impl EscalationStore for $store {
            async fn record_step(
                &self,
                entries: &[NewTimelineEntry],
                intents: &[NewIntent],
                next: Option<&NewJob>,
                now: Timestamp,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let result = record_step_in(&mut tx, entries, intents, next, now).await;
                $crate::finish::<$store, _>(tx, result, "escalation step").await
            }

            async fn incident_timeline(
                &self,
                incident: i64,
            ) -> Result<Vec<TimelineRecord>, StoreError> {
                let rows: Vec<TimelineRow> = sqlx::query_as(sql::TIMELINE_OF_INCIDENT)
                    .bind(incident)
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter()
                    .map(|(id, incident, at, kind, actor, detail)| {
                        Ok(TimelineRecord {
                            id,
                            incident,
                            at: sql::timestamp(at)?,
                            kind,
                            actor,
                            detail: serde_json::from_str(&detail).map_err(|e| {
                                StoreError::Corrupt(format!("timeline {id}: detail: {e}"))
                            })?,
                        })
                    })
                    .collect()
            }

            async fn incident_intents(
                &self,
                incident: i64,
            ) -> Result<Vec<IntentRecord>, StoreError> {
                let rows: Vec<IntentRow> = sqlx::query_as(sql::INTENTS_OF_INCIDENT)
                    .bind(incident)
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter()
                    .map(
                        |(id, incident, user, contact, kind, address, due, level, cycle, state)| {
                            Ok(IntentRecord {
                                id,
                                incident,
                                user: sql::parse_name(&user)?,
                                contact: sql::parse_name(&contact)?,
                                kind,
                                address,
                                due_at: sql::timestamp(due)?,
                                level,
                                cycle,
                                state,
                            })
                        },
                    )
                    .collect()
            }
        }

        async fn record_step_in(
            conn: &mut Conn,
            entries: &[NewTimelineEntry],
            intents: &[NewIntent],
            next: Option<&NewJob>,
            now: Timestamp,
        ) -> Result<(), StoreError> {
            let ms = sql::millis(now);
            for e in entries {
                sqlx::query(sql::INSERT_TIMELINE)
                    .bind(e.incident)
                    .bind(sql::millis(e.at))
                    .bind(&e.kind)
                    .bind(&e.actor)
                    .bind(e.detail.to_string())
                    .bind(&e.key)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            for i in intents {
                let kind = serde_json::to_value(i.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                sqlx::query(sql::INSERT_INTENT)
                    .bind(i.incident)
                    .bind(i.user.as_str())
                    .bind(i.contact.as_str())
                    .bind(kind)
                    .bind(&i.address)
                    .bind(sql::millis(i.due_at))
                    .bind(i64::try_from(i.level).unwrap_or(i64::MAX))
                    .bind(i64::from(i.cycle))
                    .bind(ms)
                    .bind(&i.key)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            if let Some(job) = next {
                sqlx::query(sql::ENQUEUE_JOB)
                    .bind(&job.kind)
                    .bind(&job.key)
                    .bind(job.payload.to_string())
                    .bind(sql::millis(job.due_at))
                    .bind(ms)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            Ok(())
        }
    };
}
