package main

import (
	"strings"
	"testing"
)

func TestCommandEnvDropsDittoSecrets(t *testing.T) {
	got := strings.Join(commandEnv([]string{"PATH=/bin", "DITTO_MASK_KEY=k", "DITTO_SOURCE_URL=postgres://u:pw@h/d", "DITTO_TOKEN=t", "DITTO_HOME=/h", "HOME=/root"}), " ")
	if got != "PATH=/bin DITTO_HOME=/h HOME=/root" {
		t.Fatalf("commandEnv = %q", got)
	}
}
