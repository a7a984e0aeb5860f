package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// resetStats clears what a server counted since it started: the
// database's statistics and the shared ones of every kind this major has
// (a kind it lacks is skipped), so a server started ahead of its user
// shows nothing of the wait.
const resetStats = `DO $$
DECLARE k text;
BEGIN
	PERFORM pg_stat_reset();
	PERFORM pg_stat_reset_slru(NULL);
	FOREACH k IN ARRAY ARRAY['archiver', 'bgwriter', 'checkpointer', 'io', 'recovery_prefetch', 'wal'] LOOP
		BEGIN
			PERFORM pg_stat_reset_shared(k);
		EXCEPTION WHEN invalid_parameter_value THEN NULL;
		END;
	END LOOP;
END $$`

// Handover readies a running server for a new user: over its Unix socket,
// as role, it gives role the password and resets the statistics.
func Handover(ctx context.Context, socketDir string, port int, role, db, password string) error {
	conn, err := pgx.Connect(ctx, socketDSN(socketDir, port, role, db))
	if err != nil {
		return fmt.Errorf("connecting to the server on port %d: %w", port, err)
	}
	defer conn.Close(context.Background())
	if err := SetPassword(ctx, conn, role, password); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, resetStats); err != nil {
		return fmt.Errorf("resetting the statistics: %w", err)
	}
	return nil
}
