//! [`NotifyStore`](tocsin_store::NotifyStore): the outbox's rows, their
//! delivery jobs, each attempt's outcome with its timeline entries, and the
//! per-destination rate limit, taken in one statement so that instances
//! sharing a database share the limit.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_notify_store {
    ($store:ty) => {
        use $crate::__private::tocsin_store::notify::{
            AttemptOutcome, DeliveryState, NotificationRecord, NotifyStore, Purpose, RateLimit,
        };
        use $crate::__private::tocsin_store::sql::NotificationRow;

        #[async_trait]
        impl NotifyStore for $store {
            async fn enqueue_notifications(
                &self,
                notifications: &[NewIntent],
                entries: &[NewTimelineEntry],
                now: Timestamp,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let result = record_step_in(&mut tx, entries, notifications, None, now).await;
                $crate::finish::<$store, _>(tx, result, "notifications").await
            }

            async fn notification(
                &self,
                key: &str,
            ) -> Result<Option<NotificationRecord>, StoreError> {
                let row: Option<NotificationRow> = sqlx::query_as(sql::NOTIFICATION_BY_KEY)
                    .bind(key)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::notification_from_row).transpose()
            }

            async fn notification_text(&self, key: &str) -> Result<Option<String>, StoreError> {
                let row: Option<(Option<String>,)> = sqlx::query_as(sql::NOTIFICATION_TEXT)
                    .bind(key)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                Ok(row.and_then(|(t,)| t))
            }

            async fn due_for_destination(
                &self,
                kind: &str,
                address: &str,
                now: Timestamp,
                limit: u32,
            ) -> Result<Vec<NotificationRecord>, StoreError> {
                let rows: Vec<NotificationRow> = sqlx::query_as(sql::DUE_FOR_DESTINATION)
                    .bind(kind)
                    .bind(address)
                    .bind(sql::millis(now))
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::notification_from_row).collect()
            }

            async fn take_send_slot(
                &self,
                kind: &str,
                address: &str,
                limit: RateLimit,
                now: Timestamp,
            ) -> Result<Option<Timestamp>, StoreError> {
                let interval = i64::try_from(limit.interval.as_millis()).unwrap_or(i64::MAX);
                let tolerance = interval.saturating_mul(i64::from(limit.burst.saturating_sub(1)));
                let now_ms = sql::millis(now);
                let taken: Option<i64> = sqlx::query_scalar(sql::TAKE_SEND_SLOT)
                    .bind(kind)
                    .bind(address)
                    .bind(now_ms)
                    .bind(interval)
                    .bind(tolerance)
                    .fetch_optional(self.relaxed_pool())
                    .await
                    .map_err(map)?;
                if taken.is_some() {
                    return Ok(None);
                }
                let tat: Option<i64> = sqlx::query_scalar(sql::DESTINATION_TAT)
                    .bind(kind)
                    .bind(address)
                    .fetch_optional(self.relaxed_pool())
                    .await
                    .map_err(map)?;
                let at = tat.map_or(now_ms, |t| t.saturating_sub(tolerance).max(now_ms));
                Ok(Some(sql::timestamp(at)?))
            }

            async fn start_attempt(
                &self,
                keys: &[String],
                now: Timestamp,
                hold_until: Timestamp,
            ) -> Result<Vec<String>, StoreError> {
                let mut tx = self.begin_relaxed().await?;
                let result = async {
                    let mut moved = Vec::new();
                    for key in keys {
                        let n = sqlx::query(sql::START_ATTEMPT)
                            .bind(key)
                            .bind(sql::millis(now))
                            .bind(sql::millis(hold_until))
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?
                            .rows_affected();
                        if n > 0 {
                            moved.push(key.clone());
                        } else if moved.is_empty() {
                            // The lead is not free: take nothing.
                            return Ok(moved);
                        }
                    }
                    Ok(moved)
                }
                .await;
                $crate::finish::<$store, _>(tx, result, "delivery attempt").await
            }

            async fn finish_attempt(
                &self,
                keys: &[String],
                outcome: &AttemptOutcome,
                entries: &[NewTimelineEntry],
                follow_ups: &[NewIntent],
                now: Timestamp,
            ) -> Result<(), StoreError> {
                let ms = sql::millis(now);
                let (state, error, reference, bundle, delivered, due): (
                    DeliveryState,
                    Option<&str>,
                    Option<&str>,
                    Option<&str>,
                    Option<i64>,
                    Option<i64>,
                ) = match outcome {
                    AttemptOutcome::Delivered { reference, bundle } => (
                        DeliveryState::Delivered,
                        None,
                        reference.as_deref(),
                        bundle.as_deref(),
                        Some(ms),
                        None,
                    ),
                    AttemptOutcome::Failed { error, retry_at } => (
                        DeliveryState::Failed,
                        Some(error.as_str()),
                        None,
                        None,
                        None,
                        Some(sql::millis(*retry_at)),
                    ),
                    AttemptOutcome::Dead { error } => (
                        DeliveryState::Dead,
                        Some(error.as_str()),
                        None,
                        None,
                        None,
                        None,
                    ),
                    AttemptOutcome::Cancelled { reason } => (
                        DeliveryState::Cancelled,
                        Some(reason.as_str()),
                        None,
                        None,
                        None,
                        None,
                    ),
                };
                let mut tx = self.begin_write().await?;
                let result = async {
                    for key in keys {
                        sqlx::query(sql::FINISH_ATTEMPT)
                            .bind(key)
                            .bind(state.as_str())
                            .bind(error)
                            .bind(reference)
                            .bind(bundle)
                            .bind(delivered)
                            .bind(due)
                            .bind(ms)
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?;
                    }
                    record_step_in(&mut tx, entries, follow_ups, None, now).await
                }
                .await;
                $crate::finish::<$store, _>(tx, result, "delivery outcome").await
            }

            async fn incident_notifications(
                &self,
                incident: i64,
                purpose: Option<Purpose>,
            ) -> Result<Vec<NotificationRecord>, StoreError> {
                let rows: Vec<NotificationRow> = sqlx::query_as(sql::NOTIFICATIONS_OF_INCIDENT)
                    .bind(incident)
                    .bind(purpose.map(Purpose::as_str))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::notification_from_row).collect()
            }

            async fn dead_notifications(
                &self,
                limit: u32,
            ) -> Result<Vec<NotificationRecord>, StoreError> {
                let rows: Vec<NotificationRow> = sqlx::query_as(sql::DEAD_NOTIFICATIONS)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::notification_from_row).collect()
            }

            async fn instance_secret(
                &self,
                name: &str,
                make: String,
            ) -> Result<String, StoreError> {
                sqlx::query(sql::INSERT_INSTANCE_SECRET)
                    .bind(name)
                    .bind(&make)
                    .bind(0_i64)
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                sqlx::query_scalar(sql::INSTANCE_SECRET)
                    .bind(name)
                    .fetch_one(self.pool())
                    .await
                    .map_err(map)
            }
        }
    };
}
