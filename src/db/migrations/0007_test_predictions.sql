CREATE TABLE `test_predictions` (
	`run_id` text PRIMARY KEY NOT NULL,
	`row_count` integer NOT NULL,
	`predictions` text NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `training_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- Runs stored before this migration kept their held-out predictions in details.heldOut: move them here.
INSERT INTO `test_predictions` (`run_id`, `row_count`, `predictions`)
SELECT `id`, json_array_length(`details`, '$.heldOut.rowIds'), json_extract(`details`, '$.heldOut')
FROM `training_runs`
WHERE json_valid(`details`) AND json_type(`details`, '$.heldOut') = 'object'
  AND json_type(`details`, '$.heldOut.rowIds') = 'array';
--> statement-breakpoint
UPDATE `training_runs` SET `details` = json_remove(`details`, '$.heldOut')
WHERE json_valid(`details`) AND json_type(`details`, '$.heldOut') IS NOT NULL;
