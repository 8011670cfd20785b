//! [`ChatStore`](tocsin_store::ChatStore): chat receipts (an event answered
//! once), front ends' cursors, and incident rooms with their mirror's
//! position. Each method is one statement, or a write then a read.
//!
//! Invariants: a receipt is recorded once (`ON CONFLICT DO NOTHING`); an
//! incident has at most one room per platform and the first recorded
//! wins; a mirror's position never moves back.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_chat_store {
    ($store:ty) => {
        use $crate::__private::tocsin_domain::Severity;
        use $crate::__private::tocsin_store::sql::RoomRow;
        use $crate::__private::tocsin_store::{ChatStore, RoomRecord};

        #[async_trait]
        impl ChatStore for $store {
            async fn receive_once(
                &self,
                receipt: &str,
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::INSERT_CHAT_RECEIPT)
                    .bind(receipt)
                    .bind(sql::millis(now))
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected() == 1)
            }

            async fn purge_receipts(&self, before: Timestamp) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::PURGE_CHAT_RECEIPTS)
                    .bind(sql::millis(before))
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected())
            }

            async fn chat_cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar(sql::CHAT_CURSOR)
                    .bind(name)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)
            }

            async fn set_chat_cursor(
                &self,
                name: &str,
                value: &str,
                now: Timestamp,
            ) -> Result<(), StoreError> {
                sqlx::query(sql::SET_CHAT_CURSOR)
                    .bind(name)
                    .bind(value)
                    .bind(sql::millis(now))
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(())
            }

            async fn incidents_needing_room(
                &self,
                platform: &str,
                worst: Severity,
                limit: u32,
            ) -> Result<Vec<i64>, StoreError> {
                sqlx::query_scalar(sql::INCIDENTS_NEEDING_ROOM)
                    .bind(platform)
                    .bind(worst.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)
            }

            async fn record_room(
                &self,
                incident: i64,
                platform: &str,
                room: &str,
                now: Timestamp,
            ) -> Result<RoomRecord, StoreError> {
                sqlx::query(sql::INSERT_INCIDENT_ROOM)
                    .bind(incident)
                    .bind(platform)
                    .bind(room)
                    .bind(sql::millis(now))
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                self.incident_room(incident, platform)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "incident {incident}: its {platform} room vanished after being recorded"
                        ))
                    })
            }

            async fn rooms_to_tend(
                &self,
                platform: &str,
                resolved_since: Timestamp,
                limit: u32,
            ) -> Result<Vec<RoomRecord>, StoreError> {
                let rows: Vec<RoomRow> = sqlx::query_as(sql::ROOMS_TO_TEND)
                    .bind(platform)
                    .bind(sql::millis(resolved_since))
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::room_from_row).collect()
            }

            async fn incident_room(
                &self,
                incident: i64,
                platform: &str,
            ) -> Result<Option<RoomRecord>, StoreError> {
                let row: Option<RoomRow> = sqlx::query_as(sql::INCIDENT_ROOM)
                    .bind(incident)
                    .bind(platform)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::room_from_row).transpose()
            }

            async fn advance_room(
                &self,
                incident: i64,
                platform: &str,
                mirrored_through: i64,
                invited: &[String],
            ) -> Result<(), StoreError> {
                let invited = serde_json::to_string(invited)
                    .map_err(|e| StoreError::Corrupt(format!("invited list: {e}")))?;
                sqlx::query(sql::ADVANCE_INCIDENT_ROOM)
                    .bind(incident)
                    .bind(platform)
                    .bind(mirrored_through)
                    .bind(invited)
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(())
            }
        }
    };
}
