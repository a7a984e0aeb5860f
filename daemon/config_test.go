package daemon

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if c, err := LoadConfig(filepath.Join(dir, "missing.yaml"), true); err != nil || !reflect.DeepEqual(c, FileConfig{}) {
		t.Fatalf("a missing optional config: %+v, %v; want empty, nil", c, err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml"), false); err == nil {
		t.Fatal("a missing config given with --config was accepted")
	}
	write := func(text string) string {
		p := filepath.Join(dir, "serve.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := LoadConfig(write("socket: /tmp/d.sock\ngroup: ci\nadmin_group: wheel\napi_listen: 10.0.0.5:8443\ntls_cert: /etc/ditto/api.pem\ntls_key: /etc/ditto/api.key\napi_hosts: [db.example.com, 10.0.0.5]\n"), false)
	want := FileConfig{Socket: "/tmp/d.sock", Group: "ci", AdminGroup: "wheel", APIListen: "10.0.0.5:8443",
		TLSCert: "/etc/ditto/api.pem", TLSKey: "/etc/ditto/api.key", APIHosts: []string{"db.example.com", "10.0.0.5"}}
	if err != nil || !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v, %v", c, err)
	}
	if c, err := LoadConfig(write(""), false); err != nil || !reflect.DeepEqual(c, FileConfig{}) {
		t.Fatalf("an empty config: %+v, %v", c, err)
	}
	if _, err := LoadConfig(write("sockt: /tmp/d.sock\n"), false); err == nil || !strings.Contains(err.Error(), "sockt") {
		t.Fatalf("a misspelt key: %v; want an error naming it", err)
	}
	if c, err := LoadConfig(write("warm: 0\n"), false); err != nil || c.Warm == nil || *c.Warm != 0 {
		t.Fatalf("warm: 0: %+v, %v; want a warm of 0, told from no warm key", c, err)
	}
	if _, err := LoadConfig(write("warm: -1\n"), false); err == nil || !strings.Contains(err.Error(), "warm") {
		t.Fatalf("warm: -1: %v; want an error naming it", err)
	}
}
