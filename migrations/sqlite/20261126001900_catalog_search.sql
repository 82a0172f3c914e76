-- Full-text search over products for SQLite, written by hand: ent does
-- not model virtual tables. product_search is an FTS5 index whose content
-- is products.search_text (external content, keyed by the products rowid);
-- the triggers keep it in step with every insert, update and delete, so no
-- code path can forget to. MySQL uses the FULLTEXT index product_search_text.
CREATE VIRTUAL TABLE `product_search` USING fts5(search_text, content='products', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER `products_search_ai` AFTER INSERT ON `products` BEGIN INSERT INTO `product_search`(rowid, search_text) VALUES (new.rowid, new.search_text); END;
CREATE TRIGGER `products_search_ad` AFTER DELETE ON `products` BEGIN INSERT INTO `product_search`(`product_search`, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END;
CREATE TRIGGER `products_search_au` AFTER UPDATE OF `search_text` ON `products` BEGIN INSERT INTO `product_search`(`product_search`, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); INSERT INTO `product_search`(rowid, search_text) VALUES (new.rowid, new.search_text); END;
