// Package api holds what ditto's front ends exchange: the JSON view of a
// copy, the requests, the errors and their HTTP statuses, and Service, the
// one interface the CLI uses whether it runs ditto in process (Local) or
// through the daemon (api/client). The CLI prints these views in direct
// mode too, so every front end shows the same thing.
package api

import (
	"time"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/sandbox"
)

// Copy is the view of a copy. DatabaseURL carries its password: only the
// copy's owner (and root) gets it, never in a list.
type Copy struct {
	ID          string            `json:"id"`
	State       string            `json:"state"`
	Port        int               `json:"port"`
	Host        string            `json:"host"`
	Database    string            `json:"database"`
	User        string            `json:"user"`
	DatabaseURL string            `json:"database_url,omitempty"`
	Golden      string            `json:"golden"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	Labels      map[string]string `json:"labels"`
	OwnerUID    int               `json:"owner_uid"`
	Owner       string            `json:"owner,omitempty"` // the owner's user name
	// Sandbox is how confined the copy's server is: "full", "partial"
	// (namespaces, but the kernel lacks Landlock or its IPC scopes), or
	// "none" when it runs as a plain process of the servers' OS user (see
	// ditto doctor).
	Sandbox string `json:"sandbox"`
	// Limits are the copy's caps (memory and max_size in bytes); a field
	// left out is no cap.
	Limits ditto.Limits `json:"limits"`
}

// ViewOf returns the view of c; withSecret adds its URL.
func ViewOf(c *ditto.Copy, withSecret bool) Copy {
	v := Copy{
		ID: c.ID, State: c.Status(), Port: c.Port, Host: c.Host, Database: c.Database, User: c.Role,
		Golden: c.Generation, CreatedAt: c.CreatedAt, Labels: c.Labels, OwnerUID: c.OwnerUID, Owner: c.OwnerName,
		Sandbox: string(c.Sandbox), Limits: c.Limits,
	}
	if v.Sandbox == "" {
		v.Sandbox = string(sandbox.None)
	}
	if withSecret {
		v.DatabaseURL = c.URL()
	}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if !c.ExpiresAt.IsZero() {
		v.ExpiresAt = &c.ExpiresAt
	}
	return v
}
