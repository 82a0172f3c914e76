-- Create "webhook_events" table
CREATE TABLE `webhook_events` (`id` varchar(32) NOT NULL, `created_at` datetime(6) NOT NULL, `updated_at` datetime(6) NOT NULL, `provider` varchar(32) NOT NULL, `event_id` varchar(255) NOT NULL, `type` varchar(128) NOT NULL, PRIMARY KEY (`id`), UNIQUE INDEX `webhookevent_provider_event_id` (`provider`, `event_id`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;
