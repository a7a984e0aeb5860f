package ditto

// Caller is who asks for copies: through the daemon, the peer of its
// socket or the bearer of a token; in direct mode, the user running ditto
// (under sudo, the user who called sudo). Copies it creates belong to it.
type Caller struct {
	// UID is the caller's OS user, or TokenUID for the bearer of a token,
	// whose Name ("token:NAME") then says which.
	UID  int
	Name string
	// Admin sees and acts on every copy, not only its own.
	Admin bool
	// ReadsRecords can read the copies' records, passwords included (root,
	// or ditto itself in direct mode): hiding a URL from it protects nothing.
	ReadsRecords bool
}

// TokenUID is the owner UID of copies made by bearers of tokens: no OS
// user, so that no local user owns them.
const TokenUID = -1

// TokenCaller is the bearer of the daemon's token name.
func TokenCaller(name string, admin bool) Caller {
	return Caller{UID: TokenUID, Name: "token:" + name, Admin: admin}
}

// ownedBy reports whether k owns the copy: the same OS user, or, for
// tokens, which share one UID, the same token.
func (c *Copy) ownedBy(k Caller) bool {
	return c.OwnerUID == k.UID && (k.UID != TokenUID || c.OwnerName == k.Name)
}

// VisibleTo reports whether k may see and act on the copy. A warm copy,
// also while it is being made, is nobody's: only the daemon's pool acts on
// it, and only admins' lists of every copy show it.
func (c *Copy) VisibleTo(k Caller) bool {
	return !c.isWarm() && (k.Admin || c.ownedBy(k))
}

// isWarm reports whether the copy is a warm one, ready or being made.
func (c *Copy) isWarm() bool { return c.State == StateWarm || c.OwnerUID == NobodyUID }

// SecretFor reports whether k may have the copy's password.
func (c *Copy) SecretFor(k Caller) bool { return k.ReadsRecords || c.ownedBy(k) }

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
		if c.VisibleTo(k) || withWarm && k.Admin && c.isWarm() {
			out = append(out, c)
		}
	}
	return out, nil
}
