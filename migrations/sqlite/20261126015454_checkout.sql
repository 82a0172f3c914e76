-- Create "carts" table
CREATE TABLE `carts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `token_hash` text NULL, `user_id` text NULL, `currency` text NOT NULL, `email` text NOT NULL DEFAULT (''), `shipping_address` json NULL, `billing_address` json NULL, `shipping_method_id` text NULL, `discount_code` text NOT NULL DEFAULT (''), `order_id` text NULL, PRIMARY KEY (`id`));
-- Create index "cart_token_hash" to table: "carts"
CREATE UNIQUE INDEX `cart_token_hash` ON `carts` (`token_hash`);
-- Create index "cart_user_id_order_id" to table: "carts"
CREATE INDEX `cart_user_id_order_id` ON `carts` (`user_id`, `order_id`);
-- Create "cart_lines" table
CREATE TABLE `cart_lines` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `variant_id` text NOT NULL, `quantity` integer NOT NULL, `unit_price_seen` integer NOT NULL, `cart_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `cart_lines_carts_lines` FOREIGN KEY (`cart_id`) REFERENCES `carts` (`id`) ON DELETE CASCADE);
-- Create index "cartline_cart_id_variant_id" to table: "cart_lines"
CREATE UNIQUE INDEX `cartline_cart_id_variant_id` ON `cart_lines` (`cart_id`, `variant_id`);
-- Create "discount_codes" table
CREATE TABLE `discount_codes` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `code` text NOT NULL, `kind` text NOT NULL, `value` integer NOT NULL, `currency` text NOT NULL DEFAULT (''), `min_subtotal` integer NOT NULL DEFAULT (0), `starts_at` datetime NULL, `ends_at` datetime NULL, `usage_limit` integer NULL, `per_customer_limit` integer NULL, `used_count` integer NOT NULL DEFAULT (0), `active` bool NOT NULL DEFAULT (true), PRIMARY KEY (`id`));
-- Create index "discountcode_code" to table: "discount_codes"
CREATE UNIQUE INDEX `discountcode_code` ON `discount_codes` (`code`);
-- Create "discount_redemptions" table
CREATE TABLE `discount_redemptions` (`id` text NOT NULL, `discount_code_id` text NOT NULL, `order_id` text NOT NULL, `customer` text NOT NULL, `seq` integer NULL, `created_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "discountredemption_discount_code_id_customer_seq" to table: "discount_redemptions"
CREATE UNIQUE INDEX `discountredemption_discount_code_id_customer_seq` ON `discount_redemptions` (`discount_code_id`, `customer`, `seq`);
-- Create index "discountredemption_order_id" to table: "discount_redemptions"
CREATE UNIQUE INDEX `discountredemption_order_id` ON `discount_redemptions` (`order_id`);
-- Create "orders" table
CREATE TABLE `orders` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `number` text NOT NULL, `idempotency_key` text NOT NULL, `cart_id` text NULL, `user_id` text NULL, `email` text NOT NULL, `guest_token_hash` text NULL, `shipping_address` json NOT NULL, `billing_address` json NOT NULL, `shipping_method_id` text NULL, `shipping_method_name` text NOT NULL DEFAULT (''), `discount_code` text NOT NULL DEFAULT (''), `discount_code_id` text NULL, `subtotal` integer NOT NULL, `discount_total` integer NOT NULL, `shipping_total` integer NOT NULL, `tax_total` integer NOT NULL, `tax_inclusive` bool NOT NULL DEFAULT (false), `total` integer NOT NULL, `amount_refunded` integer NOT NULL DEFAULT (0), `refund_requested` integer NOT NULL DEFAULT (0), `currency` text NOT NULL, `state` text NOT NULL DEFAULT ('PENDING_PAYMENT'), `reservation` text NOT NULL DEFAULT ('HELD'), `reserved_until` datetime NOT NULL, `payment_intent_id` text NULL, `payment_failure` text NOT NULL DEFAULT (''), `carrier` text NOT NULL DEFAULT (''), `tracking_number` text NOT NULL DEFAULT (''), `tracking_url` text NOT NULL DEFAULT (''), `paid_at` datetime NULL, `fulfilled_at` datetime NULL, `delivered_at` datetime NULL, `cancelled_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "order_number" to table: "orders"
CREATE UNIQUE INDEX `order_number` ON `orders` (`number`);
-- Create index "order_idempotency_key" to table: "orders"
CREATE UNIQUE INDEX `order_idempotency_key` ON `orders` (`idempotency_key`);
-- Create index "order_payment_intent_id" to table: "orders"
CREATE UNIQUE INDEX `order_payment_intent_id` ON `orders` (`payment_intent_id`);
-- Create index "order_user_id_created_at" to table: "orders"
CREATE INDEX `order_user_id_created_at` ON `orders` (`user_id`, `created_at`);
-- Create index "order_state_created_at" to table: "orders"
CREATE INDEX `order_state_created_at` ON `orders` (`state`, `created_at`);
-- Create index "order_reservation_reserved_until" to table: "orders"
CREATE INDEX `order_reservation_reserved_until` ON `orders` (`reservation`, `reserved_until`);
-- Create index "order_email" to table: "orders"
CREATE INDEX `order_email` ON `orders` (`email`);
-- Create index "order_created_at" to table: "orders"
CREATE INDEX `order_created_at` ON `orders` (`created_at`);
-- Create "order_events" table
CREATE TABLE `order_events` (`id` text NOT NULL, `from_state` text NOT NULL DEFAULT (''), `to_state` text NOT NULL, `actor` text NOT NULL, `reason` text NOT NULL DEFAULT (''), `created_at` datetime NOT NULL, `order_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `order_events_orders_events` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE CASCADE);
-- Create index "orderevent_order_id_created_at" to table: "order_events"
CREATE INDEX `orderevent_order_id_created_at` ON `order_events` (`order_id`, `created_at`);
-- Create "order_lines" table
CREATE TABLE `order_lines` (`id` text NOT NULL, `variant_id` text NOT NULL, `product_id` text NULL, `title` text NOT NULL, `variant_title` text NOT NULL DEFAULT (''), `sku` text NOT NULL, `unit_price` integer NOT NULL, `quantity` integer NOT NULL, `line_total` integer NOT NULL, `order_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `order_lines_orders_lines` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE CASCADE);
-- Create "shipping_methods" table
CREATE TABLE `shipping_methods` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `kind` text NOT NULL, `country` text NOT NULL, `region` text NOT NULL DEFAULT (''), `price` integer NOT NULL DEFAULT (0), `free_over` integer NOT NULL DEFAULT (0), `currency` text NOT NULL, `active` bool NOT NULL DEFAULT (true), PRIMARY KEY (`id`));
-- Create index "shippingmethod_country_region" to table: "shipping_methods"
CREATE INDEX `shippingmethod_country_region` ON `shipping_methods` (`country`, `region`);
-- Create "tax_rates" table
CREATE TABLE `tax_rates` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `country` text NOT NULL, `region` text NOT NULL DEFAULT (''), `rate_bp` integer NOT NULL, `inclusive` bool NOT NULL DEFAULT (false), PRIMARY KEY (`id`));
-- Create index "taxrate_country_region" to table: "tax_rates"
CREATE UNIQUE INDEX `taxrate_country_region` ON `tax_rates` (`country`, `region`);
