-- Create "calendar_events" table
CREATE TABLE `calendar_events` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `appointment_id` text NOT NULL, `mailbox` text NOT NULL, `event_id` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "calendarevent_appointment_id" to table: "calendar_events"
CREATE UNIQUE INDEX `calendarevent_appointment_id` ON `calendar_events` (`appointment_id`);
-- Create "calendar_links" table
CREATE TABLE `calendar_links` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `practitioner_id` text NOT NULL, `mailbox` text NOT NULL, `calendar_id` text NOT NULL DEFAULT (''), `delta_link` text NOT NULL DEFAULT (''), `window_end` datetime NULL, `last_synced_at` datetime NULL, `last_sync_error` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "calendarlink_practitioner_id" to table: "calendar_links"
CREATE UNIQUE INDEX `calendarlink_practitioner_id` ON `calendar_links` (`practitioner_id`);
-- Create "calendar_subscriptions" table
CREATE TABLE `calendar_subscriptions` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `link_id` text NOT NULL, `graph_id` text NOT NULL DEFAULT (''), `client_state` text NOT NULL, `expires_at` datetime NULL, `state` text NOT NULL DEFAULT ('PENDING'), `failures` integer NOT NULL DEFAULT (0), `last_notification_at` datetime NULL, `last_renewed_at` datetime NULL, `last_error` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "calendarsubscription_link_id" to table: "calendar_subscriptions"
CREATE UNIQUE INDEX `calendarsubscription_link_id` ON `calendar_subscriptions` (`link_id`);
-- Create index "calendarsubscription_graph_id" to table: "calendar_subscriptions"
CREATE INDEX `calendarsubscription_graph_id` ON `calendar_subscriptions` (`graph_id`);
-- Create "ehr_mappings" table
CREATE TABLE `ehr_mappings` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `local_id` text NOT NULL, `external_id` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "ehrmapping_kind_local_id" to table: "ehr_mappings"
CREATE UNIQUE INDEX `ehrmapping_kind_local_id` ON `ehr_mappings` (`kind`, `local_id`);
-- Create "ehr_records" table
CREATE TABLE `ehr_records` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `local_key` text NOT NULL, `external_id` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "ehrrecord_kind_local_key" to table: "ehr_records"
CREATE UNIQUE INDEX `ehrrecord_kind_local_key` ON `ehr_records` (`kind`, `local_key`);
