CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "datasets" ADD COLUMN "owner_id" text;--> statement-breakpoint
ALTER TABLE "datasets" ADD COLUMN "shared_by_id" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "owner_id" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "shared_by_id" boolean DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX "datasets_owner_idx" ON "datasets" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "sessions_owner_idx" ON "sessions" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "sessions_updated_idx" ON "sessions" USING btree ("updated_at");