package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// StateShutDown is the cluster state of a data directory whose server
// stopped cleanly: its next start runs no crash recovery.
const StateShutDown = "shut down"

// ClusterState reads the cluster state from pg_control, as pg_controldata
// prints it ("shut down", "in production", ...).
func ClusterState(ctx context.Context, bin Bin, dataDir string) (string, error) {
	out, err := exec.CommandContext(ctx, bin.Path("pg_controldata"), "-D", dataDir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pg_controldata: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if state, ok := strings.CutPrefix(line, "Database cluster state:"); ok {
			return strings.TrimSpace(state), nil
		}
	}
	return "", errors.New("pg_controldata printed no cluster state")
}

// hba trusts only the Unix socket, which lives in each server's private
// folder; every TCP login, from any address the server is told to listen
// on, needs a password.
const hba = `# written by ditto reseed
local all all                trust
host  all all 0.0.0.0/0      scram-sha-256
host  all all ::/0           scram-sha-256
`

// hbaTLS is the pg_hba.conf of a server for other hosts: as hba, but TCP
// logins from anywhere but this machine's loopback must use TLS, so that a
// password never crosses the network in clear.
const hbaTLS = `# written by ditto for a copy served over TLS
local   all all                trust
host    all all 127.0.0.1/32   scram-sha-256
host    all all ::1/128        scram-sha-256
hostssl all all 0.0.0.0/0      scram-sha-256
hostssl all all ::/0           scram-sha-256
`

// writeTLS writes a server's certificate, key and TLS-only pg_hba.conf
// into dir, owned by u (postgres refuses a key others may read), and
// returns the settings that use them. They live beside the server's socket:
// outside the data directory, which stays as the golden left it, and
// visible in its sandbox.
func writeTLS(dir string, u OSUser, t ServerTLS) ([]string, error) {
	files := []struct {
		name, setting string
		data          []byte
	}{
		{"server.crt", "ssl_cert_file", t.Cert},
		{"server.key", "ssl_key_file", t.Key},
		{"pg_hba.conf", "hba_file", []byte(hbaTLS)},
	}
	settings := []string{"ssl=on"}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return nil, err
		}
		if err := chownMode(p, u, 0o600); err != nil {
			return nil, err
		}
		settings = append(settings, f.setting+"="+p)
	}
	return settings, nil
}

// WriteHBA writes the cluster's pg_hba.conf, owned by u: trust on the Unix
// socket, a SCRAM password over TCP.
func WriteHBA(dataDir string, u OSUser) error {
	p := filepath.Join(dataDir, "pg_hba.conf")
	if err := os.WriteFile(p, []byte(hba), 0o600); err != nil {
		return err
	}
	return os.Chown(p, u.UID, u.GID)
}
