CREATE TABLE `searches` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`status` text NOT NULL,
	`strategy` text NOT NULL,
	`scoring` text NOT NULL,
	`config` text NOT NULL,
	`trials` text NOT NULL,
	`best_run_id` text,
	`message` text,
	`error` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `searches_session_idx` ON `searches` (`session_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `searches_status_idx` ON `searches` (`status`);
