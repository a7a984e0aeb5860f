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

// hba lets role log in on the Unix socket without a password only from a
// process of an OS user that the ident map "ditto" names, by the kernel's
// word (peer): ditto's own. Every other local login, and every TCP login
// from any address the server is told to listen on, needs a SCRAM
// password. Programs a copy's superuser runs (COPY ... FROM PROGRAM) run
// as the servers' OS user, so no trust would let them into another copy.
const hba = `# written by ditto reseed
local all %s peer map=ditto
local all all                scram-sha-256
host  all all 0.0.0.0/0      scram-sha-256
host  all all ::/0           scram-sha-256
`

// hbaTLS is the pg_hba.conf of a server for other hosts: as hba (the
// golden's pg_ident.conf holds its map), but TCP logins from anywhere but
// this machine's loopback must use TLS, so that a password never crosses
// the network in clear.
const hbaTLS = `# written by ditto for a copy served over TLS
local   all %s         peer map=ditto
local   all all                scram-sha-256
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
	role := hbaQuote(t.Role)
	if role == "" {
		return nil, fmt.Errorf("pg_hba.conf: role name %q has a double quote or control character", t.Role)
	}
	files := []struct {
		name, setting string
		data          []byte
	}{
		{"server.crt", "ssl_cert_file", t.Cert},
		{"server.key", "ssl_key_file", t.Key},
		{"pg_hba.conf", "hba_file", []byte(fmt.Sprintf(hbaTLS, role))},
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

// WriteHBA writes the cluster's pg_hba.conf and pg_ident.conf, owned by u:
// role logs in on the Unix socket without a password from processes of
// the OS users peers only; everyone else needs a SCRAM password.
func WriteHBA(dataDir string, u OSUser, role string, peers ...string) error {
	quoted := []string{hbaQuote(role)}
	for _, p := range peers {
		quoted = append(quoted, hbaQuote(p))
	}
	for _, q := range quoted {
		if q == "" {
			return fmt.Errorf("pg_hba.conf: role or OS user name %q has a double quote or control character", strings.Join(append([]string{role}, peers...), ", "))
		}
	}
	ident := "# written by ditto reseed\n"
	for _, p := range quoted[1:] {
		ident += fmt.Sprintf("ditto %s %s\n", p, quoted[0])
	}
	for name, text := range map[string]string{"pg_hba.conf": fmt.Sprintf(hba, quoted[0]), "pg_ident.conf": ident} {
		p := filepath.Join(dataDir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			return err
		}
		if err := chownMode(p, u, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// hbaQuote double-quotes a name for pg_hba.conf and pg_ident.conf, or
// returns "" for one those files cannot hold.
func hbaQuote(name string) string {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r == '"' || r < ' ' || r == 0x7f }) {
		return ""
	}
	return `"` + name + `"`
}
