package postgres

// PrivatePort is the port of a server that listens on no TCP address, only
// on a socket in a folder of its own (a reseed's or mask check's server):
// the port then only names the socket file, so one fixed port does.
const PrivatePort = 5432

// noSync trades crash safety for speed, for servers whose data is thrown
// away, or rebuilt, after a crash.
var noSync = []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}

// CopySettings are a copy's server settings, passed on the postgres command
// line so the clone stays byte-identical to its golden. Copies are
// disposable: unless durable, they trade crash safety for speed. A copy
// serves one test run, so it gets small shared buffers (the kernel's page
// cache, shared by every copy of the golden, holds the data anyway): the
// server starts faster and an idle copy costs less memory. The user's own
// settings come last and win.
func CopySettings(durable bool, user []string) []string {
	s := []string{"unix_socket_permissions=0700", "shared_buffers=32MB"}
	if !durable {
		s = append(s, noSync...)
	}
	return append(s, user...)
}

// RestoreSettings are the settings of the server a golden is restored
// into. A crash discards the half-built golden, so nothing is synced until
// its clean shutdown. wal_level=minimal: the restore truncates each table in
// the transaction of its COPY (FREEZE), and index builds make new files, so
// neither is written to the WAL as well.
func RestoreSettings() []string {
	return append(append([]string(nil), noSync...),
		"maintenance_work_mem=256MB", "max_wal_size=4GB", "checkpoint_timeout=1h", "wal_level=minimal", "max_wal_senders=0")
}

// ThrowAwaySettings are the settings of a server whose cluster is removed
// right after use, such as the one mask check reads a dump's schema with.
func ThrowAwaySettings() []string { return append([]string(nil), noSync...) }
