-- Create "categories" table
CREATE TABLE `categories` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `slug` text NOT NULL, `description` text NOT NULL DEFAULT (''), `path` text NOT NULL, `position` integer NOT NULL DEFAULT (0), `parent_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `categories_categories_children` FOREIGN KEY (`parent_id`) REFERENCES `categories` (`id`) ON DELETE SET NULL);
-- Create index "category_slug" to table: "categories"
CREATE UNIQUE INDEX `category_slug` ON `categories` (`slug`);
-- Create index "category_path" to table: "categories"
CREATE INDEX `category_path` ON `categories` (`path`);
-- Create "collections" table
CREATE TABLE `collections` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `title` text NOT NULL, `slug` text NOT NULL, `description` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "collection_slug" to table: "collections"
CREATE UNIQUE INDEX `collection_slug` ON `collections` (`slug`);
-- Create "collection_products" table
CREATE TABLE `collection_products` (`id` text NOT NULL, `position` integer NOT NULL DEFAULT (0), `collection_id` text NOT NULL, `product_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `collection_products_collections_collection` FOREIGN KEY (`collection_id`) REFERENCES `collections` (`id`) ON DELETE CASCADE, CONSTRAINT `collection_products_products_product` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE CASCADE);
-- Create index "collectionproduct_collection_id_product_id" to table: "collection_products"
CREATE UNIQUE INDEX `collectionproduct_collection_id_product_id` ON `collection_products` (`collection_id`, `product_id`);
-- Create index "collectionproduct_product_id" to table: "collection_products"
CREATE INDEX `collectionproduct_product_id` ON `collection_products` (`product_id`);
-- Create "inventories" table
CREATE TABLE `inventories` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `on_hand` integer NOT NULL DEFAULT (0), `reserved` integer NOT NULL DEFAULT (0), `tracked` bool NOT NULL DEFAULT (true), `allow_backorder` bool NOT NULL DEFAULT (false), `variant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `inventories_variants_inventory` FOREIGN KEY (`variant_id`) REFERENCES `variants` (`id`) ON DELETE CASCADE);
-- Create index "inventories_variant_id_key" to table: "inventories"
CREATE UNIQUE INDEX `inventories_variant_id_key` ON `inventories` (`variant_id`);
-- Create index "inventory_variant_id" to table: "inventories"
CREATE UNIQUE INDEX `inventory_variant_id` ON `inventories` (`variant_id`);
-- Create "products" table
CREATE TABLE `products` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `status` text NOT NULL DEFAULT ('DRAFT'), `slug` text NOT NULL, `title` text NOT NULL, `sort_title` text NOT NULL, `description` text NOT NULL, `description_html` text NOT NULL, `seo_title` text NOT NULL DEFAULT (''), `seo_description` text NOT NULL DEFAULT (''), `tags` json NULL, `tag_key` text NOT NULL DEFAULT (''), `search_text` text NOT NULL, `price_min` integer NOT NULL DEFAULT (0), `price_max` integer NOT NULL DEFAULT (0), `currency` text NOT NULL DEFAULT (''), `archived_at` datetime NULL, `category_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `products_categories_category` FOREIGN KEY (`category_id`) REFERENCES `categories` (`id`) ON DELETE SET NULL);
-- Create index "product_slug" to table: "products"
CREATE UNIQUE INDEX `product_slug` ON `products` (`slug`);
-- Create index "product_status_created_at" to table: "products"
CREATE INDEX `product_status_created_at` ON `products` (`status`, `created_at`);
-- Create index "product_status_price_min" to table: "products"
CREATE INDEX `product_status_price_min` ON `products` (`status`, `price_min`);
-- Create index "product_status_sort_title" to table: "products"
CREATE INDEX `product_status_sort_title` ON `products` (`status`, `sort_title`);
-- Create index "product_category_id" to table: "products"
CREATE INDEX `product_category_id` ON `products` (`category_id`);
-- Create index "product_search_text" to table: "products"
CREATE INDEX `product_search_text` ON `products` (`search_text`);
-- Create "product_images" table
CREATE TABLE `product_images` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `key` text NOT NULL, `content_type` text NOT NULL, `size_bytes` integer NOT NULL DEFAULT (0), `width` integer NOT NULL DEFAULT (0), `height` integer NOT NULL DEFAULT (0), `alt` text NOT NULL DEFAULT (''), `position` integer NOT NULL DEFAULT (0), `renditions` json NULL, `product_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `product_images_products_images` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE CASCADE);
-- Create index "productimage_product_id_position" to table: "product_images"
CREATE INDEX `productimage_product_id_position` ON `product_images` (`product_id`, `position`);
-- Create "product_options" table
CREATE TABLE `product_options` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `values` json NOT NULL, `position` integer NOT NULL DEFAULT (0), `product_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `product_options_products_options` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE CASCADE);
-- Create index "productoption_product_id_name" to table: "product_options"
CREATE UNIQUE INDEX `productoption_product_id_name` ON `product_options` (`product_id`, `name`);
-- Create "stock_adjustments" table
CREATE TABLE `stock_adjustments` (`id` text NOT NULL, `variant_id` text NOT NULL, `kind` text NOT NULL, `delta` integer NOT NULL, `on_hand_after` integer NOT NULL, `reason` text NOT NULL DEFAULT (''), `actor_id` text NULL, `created_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "stockadjustment_variant_id_created_at" to table: "stock_adjustments"
CREATE INDEX `stockadjustment_variant_id_created_at` ON `stock_adjustments` (`variant_id`, `created_at`);
-- Create "variants" table
CREATE TABLE `variants` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `sku` text NOT NULL, `title` text NOT NULL DEFAULT (''), `option_values` json NULL, `price` integer NOT NULL, `currency` text NOT NULL, `compare_at_price` integer NULL, `weight_grams` integer NOT NULL DEFAULT (0), `barcode` text NOT NULL DEFAULT (''), `position` integer NOT NULL DEFAULT (0), `product_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `variants_products_variants` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE CASCADE);
-- Create index "variant_sku" to table: "variants"
CREATE UNIQUE INDEX `variant_sku` ON `variants` (`sku`);
-- Create index "variant_product_id_position" to table: "variants"
CREATE INDEX `variant_product_id_position` ON `variants` (`product_id`, `position`);
