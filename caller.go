package ditto

// Caller is who asks for copies: through the daemon, the peer of its
// socket; in direct mode, the user running ditto (under sudo, the user who
// called sudo). Copies it creates belong to its UID.
type Caller struct {
	UID  int
	Name string
	// Admin sees and acts on every copy, not only its own.
	Admin bool
	// ReadsRecords can read the copies' records, passwords included (root,
	// or ditto itself in direct mode): hiding a URL from it protects nothing.
	ReadsRecords bool
}

// VisibleTo reports whether k may see and act on the copy. A warm copy is
// nobody's: only the daemon's pool acts on it, and only admins' lists of
// every copy show it.
func (c *Copy) VisibleTo(k Caller) bool {
	return c.State != StateWarm && (k.Admin || c.OwnerUID == k.UID)
}

// SecretFor reports whether k may have the copy's password.
func (c *Copy) SecretFor(k Caller) bool { return k.ReadsRecords || c.OwnerUID == k.UID }

// CopyFor returns copy id if k may see it. To anyone else it does not
// exist: the answer for another user's copy is the one for no copy, so
// that nobody learns which IDs are in use.
func (m *Manager) CopyFor(k Caller, id string) (*Copy, error) {
	c, err := m.GetCopy(id)
	if err != nil {
		return nil, err
	}
	if !c.VisibleTo(k) {
		return nil, noCopy(id, seeCopyList)
	}
	return c, nil
}

// CopiesFor lists the copies k may see, oldest first; withWarm adds the
// warm copies for an admin.
func (m *Manager) CopiesFor(k Caller, withWarm bool) ([]*Copy, error) {
	all, err := m.Copies()
	if err != nil {
		return nil, err
	}
	var out []*Copy
	for _, c := range all {
		if c.VisibleTo(k) || withWarm && k.Admin && c.State == StateWarm {
			out = append(out, c)
		}
	}
	return out, nil
}
