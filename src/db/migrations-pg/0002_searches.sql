CREATE TABLE "searches" (
	"id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"status" text NOT NULL,
	"strategy" text NOT NULL,
	"scoring" text NOT NULL,
	"config" json NOT NULL,
	"trials" json NOT NULL,
	"best_run_id" text,
	"message" text,
	"error" text,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "searches" ADD CONSTRAINT "searches_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "searches_session_idx" ON "searches" USING btree ("session_id","created_at");--> statement-breakpoint
CREATE INDEX "searches_status_idx" ON "searches" USING btree ("status");
