package ditto

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/postgres"
)

func TestParsePortRange(t *testing.T) {
	if lo, hi, err := ParsePortRange("5433-6432"); err != nil || lo != 5433 || hi != 6432 {
		t.Fatalf("5433-6432: %d %d %v", lo, hi, err)
	}
	for _, bad := range []string{"", "5433", "6432-5433", "0-10", "1-70000", "a-b", "5433-"} {
		if _, _, err := ParsePortRange(bad); err == nil || !strings.Contains(err.Error(), "MIN-MAX") {
			t.Errorf("ParsePortRange(%q) = %v, want an error explaining MIN-MAX", bad, err)
		}
	}
	// postgres runs unprivileged: every create would fail on these
	for _, low := range []string{"80-90", "1000-2000", "1-1023"} {
		if _, _, err := ParsePortRange(low); err == nil || !strings.Contains(err.Error(), "privileged") {
			t.Errorf("ParsePortRange(%q) = %v, want an error about privileged ports", low, err)
		}
	}
	if lo, hi, err := ParsePortRange("1024-1024"); err != nil || lo != 1024 || hi != 1024 {
		t.Errorf("1024-1024: %d %d %v", lo, hi, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"20G": 20 << 30, "512M": 512 << 20, "1GiB": 1 << 30, "1.5K": 1536, "100": 100, "1T": 1 << 40, "2gb": 2 << 30} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "ten"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestDumpBaseName(t *testing.T) {
	for in, want := range map[string]string{"/x/pagila.sql.gz": "pagila", "app.dump": "app", "/d/db.dir/": "db.dir", "shop.tar": "shop"} {
		if got := dumpBaseName(in); got != want {
			t.Errorf("dumpBaseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConnectHost(t *testing.T) {
	for in, want := range map[string]string{"": "127.0.0.1", "*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "10.1.2.3": "10.1.2.3", "10.1.2.3, 127.0.0.1": "10.1.2.3"} {
		if got := connectHost(in); got != want {
			t.Errorf("connectHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAllocatePortSkipsTakenAndBusy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	// busy-1 is recorded by a copy, busy is bound by someone else
	got, err := allocatePort(busy-1, busy+1, map[int]bool{busy - 1: true}, "127.0.0.1")
	if err != nil || got != busy+1 {
		t.Fatalf("allocatePort = %d, %v; want %d", got, err, busy+1)
	}
	if _, err := allocatePort(busy-1, busy, map[int]bool{busy - 1: true}, "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "no free port") {
		t.Fatalf("full range: %v", err)
	}
}

func TestCopyURLAndLifetime(t *testing.T) {
	c := &Copy{Role: "ditto", Password: "pw/with:odd@chars", Host: "127.0.0.1", Port: 5433, Database: "app db"}
	if got := c.URL(); got != "postgres://ditto:pw%2Fwith%3Aodd%40chars@127.0.0.1:5433/app%20db?sslmode=disable" {
		t.Fatalf("URL() = %s", got)
	}
	now := time.Now()
	if c.Expired(now) {
		t.Fatal("a copy without TTL expired")
	}
	c.ExpiresAt = now.Add(-time.Second)
	if !c.Expired(now) {
		t.Fatal("a copy past its TTL is not expired")
	}
	self := proc.Self()
	c.Owner = &self
	if c.abandoned() {
		t.Fatal("a copy owned by this live process is abandoned")
	}
	dead := self
	dead.Start++
	c.Owner = &dead
	if !c.abandoned() {
		t.Fatal("a copy whose owner is gone is not abandoned")
	}
}

func TestCopyStaleness(t *testing.T) {
	self := proc.Self()
	dead := self
	dead.Start++
	now := time.Now()
	past := now.Add(-time.Minute)
	for _, c := range []struct {
		name  string
		copy  Copy
		stale bool
	}{
		{"expired, owner running", Copy{ExpiresAt: past, Owner: &self, State: StateReady}, false},
		{"expired, no owner", Copy{ExpiresAt: past, State: StateReady}, true},
		{"owner gone", Copy{Owner: &dead, State: StateReady}, true},
		{"creator gone", Copy{Busy: &dead, State: StateCreating}, true},
		{"destroyer gone", Copy{Busy: &dead, State: StateDestroying}, true},
		{"resetter gone", Copy{Busy: &dead, State: StateResetting}, false},
		{"being reset", Copy{Busy: &self, Owner: &self, State: StateResetting}, false},
	} {
		if why := c.copy.StaleReason(now); (why != "") != c.stale {
			t.Errorf("%s: StaleReason = %q, want stale %v", c.name, why, c.stale)
		}
	}
}

func TestStrayFileOnlyNamesDittoGives(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for _, n := range []string{"3f9a01bc.json", "3f9a01bc.log", "app.log", "notes.json", ".3f9a01bc.json.tmp-123", ".bashrc", "0badcafe.txt", "3F9A01BC.json"} {
		p := filepath.Join(dir, n)
		os.WriteFile(p, nil, 0o600)
		os.Chtimes(p, old, old)
	}
	entries, _ := os.ReadDir(dir)
	var stray []string
	for _, e := range entries {
		if strayFile(e, ".json", map[string]bool{}) {
			stray = append(stray, e.Name())
		}
	}
	if strings.Join(stray, " ") != ".3f9a01bc.json.tmp-123 3f9a01bc.json" {
		t.Fatalf("stray records: %v", stray)
	}
}

func TestValidID(t *testing.T) {
	for _, ok := range []string{"3f9a01bc", "a-b"} {
		if !validID(ok) {
			t.Errorf("validID(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "../etc", "A", "a/b", ".hidden", strings.Repeat("a", 65)} {
		if validID(bad) {
			t.Errorf("validID(%q) = true", bad)
		}
	}
}

func TestWriteFileAtomicAndRecords(t *testing.T) {
	h := NewHome(t.TempDir())
	os.MkdirAll(h.Records(), 0o700)
	c := &Copy{ID: "abcd1234", Port: 5433, CreatedAt: time.Now()}
	if err := h.Save(c); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(h.Record(c.ID))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("record mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	got, err := h.loadCopy(c.ID)
	if err != nil || got.Port != 5433 {
		t.Fatalf("loadCopy = %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(h.Records())
	if len(entries) != 1 {
		t.Fatalf("temporary files left beside the record: %v", entries)
	}
	if _, err := h.loadCopy("nope0000"); err == nil || !strings.Contains(err.Error(), "no such copy") {
		t.Fatalf("loading a missing copy: %v", err)
	}
	os.WriteFile(filepath.Join(h.Records(), "torn0000.json"), []byte(`{"id":`), 0o600)
	if _, err := h.loadCopy("torn0000"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("loading a damaged record: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	c.PortMin, c.PortMax = 500, 600
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "privileged") {
		t.Fatalf("port range below 1024: %v", err)
	}
	c = DefaultConfig()
	c.Backend = "ext4"
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "--backend") {
		t.Fatalf("unknown backend: %v", err)
	}
}

// TestInitRefusesSystemFolders calls only the check: were it to regress,
// Init itself would chmod the folder.
func TestInitRefusesSystemFolders(t *testing.T) {
	for _, dir := range []string{"/", "/var/lib", "/tmp", "/run", "/etc"} {
		err := NewHome(dir).claimForInit()
		if err == nil || !strings.Contains(err.Error(), "system folder") {
			t.Errorf("claimForInit(%s) = %v, want a refusal naming a system folder", dir, err)
		}
	}
}

func TestErrorsHaveKinds(t *testing.T) {
	for _, c := range []struct {
		err  error
		code Code
	}{
		{noCopy("3f9a01bc", "see `ditto copy list`"), CodeNotFound},
		{errNoGolden, CodeNoGolden},
		{&busyError{id: "3f9a01bc", state: StateDestroying}, CodeBusy},
		{ValidateLabels(map[string]string{"k": "a\nb"}), CodeInvalid},
		{fmt.Errorf("creating: %w", errorf(CodeNoSpace, "run `ditto gc`", "the pool is full")), CodeNoSpace},
		{errors.New("disk on fire"), CodeInternal},
	} {
		code, msg, hint := Describe(c.err)
		if code != c.code || msg == "" {
			t.Errorf("Describe(%v) = %s, %q, %q; want code %s", c.err, code, msg, hint, c.code)
		}
	}
	if _, err := allocatePort(1, 0, nil, "127.0.0.1"); err == nil || codeOf(err) != CodePortsExhausted {
		t.Errorf("an empty port range: %v", err)
	}
	if !errors.Is(fmt.Errorf("x: %w", noCopy("a", "")), ErrNoCopy) || !errors.Is(errNoGolden, ErrNoGolden) {
		t.Error("the sentinels do not match their errors")
	}
}

func codeOf(err error) Code {
	code, _, _ := Describe(err)
	return code
}

func TestHomeMustBeReachableByThePostgresUser(t *testing.T) {
	parent := t.TempDir()
	private := filepath.Join(parent, "private")
	os.Mkdir(private, 0o700)
	os.Chmod(parent, 0o755)
	os.Chmod(filepath.Dir(parent), 0o755) // t.TempDir makes both 0700
	someone := postgres.OSUser{Name: "someone", UID: 54321, GID: 54321}
	if err := reachable(private, someone); codeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "cannot enter "+private) {
		t.Fatalf("a 0700 folder of root: %v", err)
	}
	os.Chmod(private, 0o711)
	if err := reachable(private, someone); err != nil {
		t.Fatalf("a 0711 folder: %v", err)
	}
}

func TestCallerSeesOwnCopies(t *testing.T) {
	mine, theirs := &Copy{OwnerUID: 1000}, &Copy{OwnerUID: 1001}
	user := Caller{UID: 1000}
	admin := Caller{UID: 1002, Admin: true}
	root := Caller{UID: 0, Admin: true, ReadsRecords: true}
	for _, c := range []struct {
		name            string
		k               Caller
		copy            *Copy
		visible, secret bool
	}{
		{"user, own copy", user, mine, true, true},
		{"user, another's copy", user, theirs, false, false},
		{"admin, another's copy", admin, theirs, true, false},
		{"root, another's copy", root, theirs, true, true},
	} {
		if v, s := c.copy.VisibleTo(c.k), c.copy.SecretFor(c.k); v != c.visible || s != c.secret {
			t.Errorf("%s: visible %v, secret %v; want %v, %v", c.name, v, s, c.visible, c.secret)
		}
	}
}
