-- Create "webhook_events" table
CREATE TABLE `webhook_events` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `provider` text NOT NULL, `event_id` text NOT NULL, `type` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "webhookevent_provider_event_id" to table: "webhook_events"
CREATE UNIQUE INDEX `webhookevent_provider_event_id` ON `webhook_events` (`provider`, `event_id`);
