CREATE TABLE `dataset_files` (
	`dataset_id` text PRIMARY KEY NOT NULL,
	`bytes` blob NOT NULL,
	`size_bytes` integer NOT NULL,
	`checksum` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `training_runs` ADD `attempt` integer DEFAULT 1 NOT NULL;