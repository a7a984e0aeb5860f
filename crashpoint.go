package ditto

import (
	"os"
	"syscall"
)

// crashPointsEnabled is set by crashpoint_test_build.go in binaries built
// with -tags dittotest: the reliability tests kill ditto at named points to
// prove that every step survives a kill -9. Release builds ignore the
// variable.
var crashPointsEnabled bool

// crashPoint kills this process with SIGKILL when DITTO_CRASH_AT names the
// point, in a test build.
func crashPoint(name string) {
	if crashPointsEnabled && os.Getenv("DITTO_CRASH_AT") == name {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; wait for it to land
	}
}
