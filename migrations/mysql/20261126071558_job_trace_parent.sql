-- Modify "jobs" table
ALTER TABLE `jobs` ADD COLUMN `trace_parent` varchar(55) NULL;
