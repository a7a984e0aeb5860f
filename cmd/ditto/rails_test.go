package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRails: `ditto copy run -- bin/rails test` passes on a copy of a Rails
// app's production database with a pending migration, with nothing set by
// the user (Debian's Rails 6.1: scripts/install.sh --test installs it).
// Rails refuses a database whose ar_internal_metadata says production
// unless told that it is disposable, which is what ditto tells it.
func TestRails(t *testing.T) {
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Fatal("ruby is not installed: scripts/install.sh --test installs Debian's Rails 6.1")
	}
	f := goldenFixture(t)
	app := filepath.Join(t.TempDir(), "app")
	if out, err := exec.Command("cp", "-r", "testdata/railsapp", app).CombinedOutput(); err != nil {
		t.Fatalf("copying the app: %v %s", err, out)
	}
	rails := func(t *testing.T, env []string, args ...string) result {
		t.Helper()
		cmd := exec.Command("ruby", append([]string{"bin/rails"}, args...)...)
		cmd.Dir = app
		cmd.Env = append(os.Environ(), env...)
		return runDitto(t, cmd)
	}

	// production: the first migration only, then its dump becomes the golden
	prod := f.create()
	if r := rails(t, []string{"RAILS_ENV=production", "DATABASE_URL=" + prod.DatabaseURL, "SECRET_KEY_BASE=test"}, "db:migrate", "VERSION=20260101000000"); r.code != 0 {
		t.Fatalf("migrating production: %s", r)
	}
	dump := filepath.Join(t.TempDir(), "prod.dump")
	pgDump(t, prod.DatabaseURL, "c", dump)
	f.must("copy", "destroy", prod.ID)
	f.must("reseed", "--dump", dump)

	cmd := exec.Command(dittoBin, "--home", f.home, "copy", "run", "--", "ruby", "bin/rails", "test")
	cmd.Dir = app
	if r := runDitto(t, cmd); r.code != 0 || !strings.Contains(r.stdout, "1 runs, 2 assertions, 0 failures, 0 errors") {
		t.Fatalf("ditto copy run -- bin/rails test: %s", r)
	}
	// what the variable prevents
	cmd = exec.Command(dittoBin, "--home", f.home, "copy", "run", "--", "env", "-u", "DISABLE_DATABASE_ENVIRONMENT_CHECK", "ruby", "bin/rails", "test")
	cmd.Dir = app
	if r := runDitto(t, cmd); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "ProtectedEnvironmentError") {
		t.Fatalf("bin/rails test without DISABLE_DATABASE_ENVIRONMENT_CHECK: want Rails' ProtectedEnvironmentError: %s", r)
	}
}
