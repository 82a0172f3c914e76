-- Create "refund_requests" table
CREATE TABLE `refund_requests` (`id` text NOT NULL, `order_id` text NOT NULL, `idempotency_key` text NULL, `amount_requested` integer NOT NULL, `amount` integer NOT NULL, `cumulative` integer NOT NULL, `reason` text NOT NULL, `actor` text NOT NULL, `created_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "refundrequest_idempotency_key" to table: "refund_requests"
CREATE UNIQUE INDEX `refundrequest_idempotency_key` ON `refund_requests` (`idempotency_key`);
-- Create index "refundrequest_order_id" to table: "refund_requests"
CREATE INDEX `refundrequest_order_id` ON `refund_requests` (`order_id`);
