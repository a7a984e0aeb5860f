package ditto

import (
	"strings"
	"time"
)

// ParseTTL parses a copy's time to live: a Go duration such as 30m or 2h,
// or 0 for no expiry.
func ParseTTL(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, invalidf("invalid --ttl %q: give a duration such as 30m or 2h, or 0 for no expiry", s)
	}
	return d, nil
}

// managedSettings are the server settings ditto sets for each copy itself:
// the port reservation, the private socket and the password check rely on
// them.
var managedSettings = map[string]string{
	"port":                    "ditto picks a free port from the range of `ditto init --port-range`",
	"listen_addresses":        "use --listen",
	"unix_socket_directories": "the socket lives in the copy's private folder",
	"unix_socket_permissions": "the socket lives in the copy's private folder",
	"data_directory":          "the data directory is the copy's clone",
	"hba_file":                "the golden's pg_hba.conf requires the copy's password over TCP",
	"config_file":             "settings go on the command line; use more --set",
}

// ParseSettings checks server settings given as NAME=VALUE for a copy and
// returns them normalised; the settings ditto manages itself are refused.
func ParseSettings(kvs []string) ([]string, error) {
	var out []string
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || !validSettingName(k) {
			return nil, invalidf("invalid --set %q: want NAME=VALUE with a PostgreSQL setting name, e.g. --set shared_buffers=256MB", kv)
		}
		if why, managed := managedSettings[k]; managed {
			return nil, invalidf("--set %s: ditto sets this one itself (%s)", k, why)
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

// validSettingName accepts PostgreSQL's setting names, including the
// dotted ones of extensions (auto_explain.log_min_duration).
func validSettingName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
