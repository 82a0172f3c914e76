-- Create "trusted_documents" table
CREATE TABLE `trusted_documents` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `client` text NOT NULL, `document_id` text NOT NULL, `body` text NOT NULL, `operation_name` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "trusteddocument_client_document_id" to table: "trusted_documents"
CREATE UNIQUE INDEX `trusteddocument_client_document_id` ON `trusted_documents` (`client`, `document_id`);
-- Create index "trusteddocument_document_id" to table: "trusted_documents"
CREATE INDEX `trusteddocument_document_id` ON `trusted_documents` (`document_id`);
-- Create "webhook_attempts" table
CREATE TABLE `webhook_attempts` (`id` text NOT NULL, `number` integer NOT NULL, `started_at` datetime NOT NULL, `status` integer NOT NULL DEFAULT (0), `duration_ms` integer NOT NULL DEFAULT (0), `response` text NOT NULL DEFAULT (''), `error` text NOT NULL DEFAULT (''), `delivery_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `webhook_attempts_webhook_deliveries_attempt_log` FOREIGN KEY (`delivery_id`) REFERENCES `webhook_deliveries` (`id`) ON DELETE CASCADE);
-- Create index "webhookattempt_delivery_id_number" to table: "webhook_attempts"
CREATE INDEX `webhookattempt_delivery_id_number` ON `webhook_attempts` (`delivery_id`, `number`);
-- Create "webhook_deliveries" table
CREATE TABLE `webhook_deliveries` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `event_id` text NOT NULL, `event_type` text NOT NULL, `data` json NULL, `occurred_at` datetime NOT NULL, `body` text NOT NULL DEFAULT (''), `state` text NOT NULL DEFAULT ('PENDING'), `attempts` integer NOT NULL DEFAULT (0), `last_status` integer NOT NULL DEFAULT (0), `next_attempt_at` datetime NULL, `endpoint_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `webhook_deliveries_webhook_endpoints_deliveries` FOREIGN KEY (`endpoint_id`) REFERENCES `webhook_endpoints` (`id`) ON DELETE CASCADE);
-- Create index "webhookdelivery_endpoint_id_event_id" to table: "webhook_deliveries"
CREATE UNIQUE INDEX `webhookdelivery_endpoint_id_event_id` ON `webhook_deliveries` (`endpoint_id`, `event_id`);
-- Create index "webhookdelivery_endpoint_id_created_at" to table: "webhook_deliveries"
CREATE INDEX `webhookdelivery_endpoint_id_created_at` ON `webhook_deliveries` (`endpoint_id`, `created_at`);
-- Create index "webhookdelivery_created_at" to table: "webhook_deliveries"
CREATE INDEX `webhookdelivery_created_at` ON `webhook_deliveries` (`created_at`);
-- Create "webhook_endpoints" table
CREATE TABLE `webhook_endpoints` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `url` text NOT NULL, `description` text NOT NULL DEFAULT (''), `events` json NOT NULL, `document` text NOT NULL DEFAULT (''), `state` text NOT NULL DEFAULT ('ACTIVE'), `paused_reason` text NOT NULL DEFAULT (''), `secret` text NOT NULL, `previous_secret` text NOT NULL DEFAULT (''), `previous_secret_expires_at` datetime NULL, `owner_id` text NOT NULL, `api_key_id` text NULL, `failing_since` datetime NULL, `last_success_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "webhookendpoint_state" to table: "webhook_endpoints"
CREATE INDEX `webhookendpoint_state` ON `webhook_endpoints` (`state`);
-- Create index "webhookendpoint_api_key_id" to table: "webhook_endpoints"
CREATE INDEX `webhookendpoint_api_key_id` ON `webhook_endpoints` (`api_key_id`);
