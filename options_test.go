package ditto

import (
	"strings"
	"testing"
	"time"
)

func TestParseTTLAndSettings(t *testing.T) {
	if d, err := ParseTTL("30m"); err != nil || d != 30*time.Minute {
		t.Fatalf("ParseTTL(30m) = %v, %v", d, err)
	}
	for _, bad := range []string{"", "-1h", "soon"} {
		if _, err := ParseTTL(bad); codeOf(err) != CodeInvalid {
			t.Errorf("ParseTTL(%q) = %v, want an invalid error", bad, err)
		}
	}
	got, err := ParseSettings([]string{" Shared_Buffers=1GB", "auto_explain.log_min_duration=0"})
	if err != nil || strings.Join(got, " ") != "shared_buffers=1GB auto_explain.log_min_duration=0" {
		t.Fatalf("ParseSettings = %v, %v", got, err)
	}
	for _, bad := range []string{"port=5", "nonsense", "a b=1", "hba_file=/etc/x"} {
		if _, err := ParseSettings([]string{bad}); codeOf(err) != CodeInvalid {
			t.Errorf("ParseSettings(%q) = %v, want an invalid error", bad, err)
		}
	}
}

func TestUseDumpPath(t *testing.T) {
	o := ReseedOptions{SourceURL: "postgres://src/db"}
	if o.UseDumpPath("/keep.dump"); o.KeepDump != "/keep.dump" || o.DumpPath != "" {
		t.Errorf("with a source URL: %+v", o)
	}
	o = ReseedOptions{}
	if o.UseDumpPath("/in.dump"); o.DumpPath != "/in.dump" {
		t.Errorf("without --dump: %+v", o)
	}
	o = ReseedOptions{DumpPath: "/a.dump", SourceURL: "postgres://src/db"}
	if err := o.UseDumpPath(""); codeOf(err) != CodeInvalid {
		t.Errorf("both --dump and --source-url: %v", err)
	}
	o = ReseedOptions{DumpPath: "/a.dump", Rules: "/r.yaml"}
	if err := o.UseDumpPath("/b.dump"); codeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "--dump /a.dump and DITTO_DUMP_PATH=/b.dump name different files") {
		t.Errorf("--dump and DITTO_DUMP_PATH naming different files: %v", err)
	}
	o = ReseedOptions{DumpPath: "/x/../a.dump"}
	if err := o.UseDumpPath("/a.dump"); err != nil || o.DumpPath != "/x/../a.dump" {
		t.Errorf("--dump and DITTO_DUMP_PATH naming one file: %+v, %v", o, err)
	}
}
