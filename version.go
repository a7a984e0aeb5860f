package ditto

import (
	"runtime/debug"
	"sync"
)

// version is set at build time (-ldflags "-X github.com/dittodb/ditto.version=v1.2.3").
var version string

// Version names this build of ditto: the version set at build time, else
// the module's version, else the VCS revision it was built from (with
// "-dirty" for uncommitted changes), else "devel". The CLI and the daemon
// compare theirs (ditto doctor).
var Version = sync.OnceValue(func() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
})
