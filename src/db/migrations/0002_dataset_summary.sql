ALTER TABLE `datasets` ADD `details` text;--> statement-breakpoint
ALTER TABLE `datasets` ADD `preview` text;