package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/postgres"
)

// A server that does not come up is reported with the end of its log, not
// the log's path: the caller removes the log with what failed (a copy's
// rollback, a reseed's temporary server), so the path would lead nowhere.
func TestNotReadyQuotesTheLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "copy.log")
	os.WriteFile(log, []byte("LOG:  starting PostgreSQL\nFATAL:  could not map anonymous shared memory\n"), 0o600)
	// nothing listens, and the "postmaster" is this live test process
	s := &postgres.Server{Proc: proc.Self(), Port: 1, SocketDir: dir, DataDir: dir, LogFile: log}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.WaitReady(ctx, "ditto", "postgres")
	if err == nil || !strings.Contains(err.Error(), "FATAL:  could not map anonymous shared memory") || strings.Contains(err.Error(), log) {
		t.Fatalf("WaitReady error = %v; want the log's last lines, not its path", err)
	}
}
