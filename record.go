package ditto

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/sandbox"
)

// CopyState is where a copy is in its life, as recorded. A live ditto
// process (Busy) moves it out of ready and back.
type CopyState string

const (
	StateCreating   CopyState = "creating"
	StateReady      CopyState = "ready"
	StateDestroying CopyState = "destroying"
	StateResetting  CopyState = "resetting"
)

// Copy is the record of one copy: everything needed to reach it, stop it and
// explain its volume and process after a crash. It is written atomically to
// <home>/copies/<id>.json (mode 0600: it holds the password).
type Copy struct {
	ID         string            `json:"id"`
	State      CopyState         `json:"state"`
	Generation string            `json:"golden"`
	Port       int               `json:"port"`
	Host       string            `json:"host"`
	Listen     string            `json:"listen"`
	Role       string            `json:"role"`
	Password   string            `json:"password"`
	Database   string            `json:"database"`
	Durable    bool              `json:"durable,omitempty"`
	Settings   []string          `json:"settings,omitempty"`
	DataDir    string            `json:"data_dir"`
	SocketDir  string            `json:"socket_dir"`
	LogFile    string            `json:"log_file"`
	CreatedAt  time.Time         `json:"created_at"`
	ExpiresAt  time.Time         `json:"expires_at,omitzero"`
	Labels     map[string]string `json:"labels,omitempty"`
	Postmaster proc.Ref          `json:"postmaster"`
	// OwnerUID is the OS user the copy belongs to: who asked for it (the
	// daemon's caller; in direct mode the user behind sudo, else ditto's
	// own). Only they and admins see the copy; only they get its password.
	// Unlike Owner it never ends the copy. Records older than the field
	// read as root's.
	OwnerUID  int    `json:"owner_uid"`
	OwnerName string `json:"owner_name,omitempty"`
	// TLS: the server requires TLS from other hosts, with a certificate of
	// ditto's CA issued at each start (see CreateOptions.TLS).
	TLS bool `json:"tls,omitempty"`
	// Sandbox is how confined the running server is; empty in records made
	// before sandboxing, whose servers ran unconfined.
	Sandbox sandbox.Level `json:"sandbox,omitempty"`
	// Limits are the copy's caps, applied again at each start of its server.
	Limits Limits `json:"limits,omitzero"`
	// Owner is the process whose life bounds the copy (a `copy run`). gc
	// removes the copy once its owner is gone; while it lives, the TTL waits.
	Owner *proc.Ref `json:"owner,omitempty"`
	// Busy is the ditto process creating, destroying or resetting the copy.
	// It never changes Owner: a reset that fails leaves the owner as it was.
	Busy *proc.Ref `json:"busy,omitempty"`
	// StartFailed is when a start of the copy's server on its own data last
	// failed; gc leaves such a copy down for `ditto copy start`, which clears
	// it, so a server that cannot start is not retried over and over.
	StartFailed time.Time `json:"start_failed,omitzero"`
}

// URL is the copy's connection URL.
func (c *Copy) URL() string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(c.Role, c.Password),
		Host:     net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Path:     "/" + c.Database,
		RawQuery: "sslmode=disable",
	}
	if c.TLS {
		// the client adds sslrootcert: where it keeps ditto's CA
		u.RawQuery = "sslmode=verify-full"
	}
	return u.String()
}

// Status is what a person is told of the copy: running or down, by
// looking at its server process, unless a live ditto process is creating,
// resetting or destroying it.
func (c *Copy) Status() string {
	if c.State == StateWarm && c.Running() {
		return string(StateWarm)
	}
	if c.State != StateReady && c.Busy != nil && c.Busy.Alive() {
		return string(c.State)
	}
	if c.Running() {
		return "running"
	}
	return "down"
}

// Running reports whether the copy's postmaster is alive.
func (c *Copy) Running() bool { return c.Postmaster.Alive() }

// Expired reports whether the copy's TTL has passed at now. A copy whose
// owner still runs is not expired: `copy run` needs its copy until its
// command ends, whatever the TTL.
func (c *Copy) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && now.After(c.ExpiresAt) && !c.ownerAlive()
}

func (c *Copy) ownerAlive() bool { return c.Owner != nil && c.Owner.Alive() }

// abandoned reports whether the process responsible for the copy is gone
// while the copy still depends on it: its owner, or the ditto process that
// was creating or destroying it. A copy left half-reset is not abandoned:
// it is down until a reset or destroy, and its TTL still applies.
func (c *Copy) abandoned() bool {
	if c.Owner != nil && !c.Owner.Alive() {
		return true
	}
	busyDied := c.Busy != nil && !c.Busy.Alive()
	return busyDied && (c.State == StateCreating || c.State == StateDestroying)
}

// StaleReason says why gc should remove the copy at now, or "" if it should not.
func (c *Copy) StaleReason(now time.Time) string {
	switch {
	case c.Expired(now):
		return "its TTL passed at " + c.ExpiresAt.Format(time.RFC3339)
	case c.Owner != nil && !c.Owner.Alive():
		return fmt.Sprintf("the process that owned it (pid %d) is gone", c.Owner.PID)
	case c.abandoned():
		return fmt.Sprintf("the ditto process %s it (pid %d) is gone", c.State, c.Busy.PID)
	}
	return ""
}

// ErrNoCopy is matched (errors.Is) by the *Error of CodeNotFound returned
// for a copy ID that no record names.
var ErrNoCopy = errors.New("no such copy")

const seeCopyList = "see `ditto copy list` for the copies that exist"

func noCopy(id, hint string) *Error {
	return &Error{Code: CodeNotFound, kind: ErrNoCopy, Message: fmt.Sprintf("no such copy %q", id), Hint: hint}
}

// validID keeps user-given IDs from naming files outside the records folder.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// RecordID, ReservedPort and DurableRecord tell the state store how to keep
// the record. Only a --durable copy's record is fsynced: a record lets ditto
// reach and clean up a copy's server, and a crash of the machine ends every
// server anyway (gc then removes the volumes no record explains, and
// damaged records). The fsyncs cost milliseconds per create.
func (c *Copy) RecordID() string    { return c.ID }
func (c *Copy) ReservedPort() int   { return c.Port }
func (c *Copy) DurableRecord() bool { return c.Durable }

func (h Home) loadCopy(id string) (*Copy, error) {
	if !validID(id) {
		return nil, noCopy(id, "copy IDs are lowercase letters, digits and dashes; see `ditto copy list`")
	}
	c, err := h.Load(id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, noCopy(id, seeCopyList)
	}
	return c, err
}

// ListCopies returns every recorded copy, oldest first, and the records
// that do not parse (left by a crash of the machine; gc removes them).
func (h Home) ListCopies() (out []*Copy, damaged []string, err error) {
	if out, damaged, err = h.List(); err != nil {
		return nil, nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, damaged, nil
}
