package ditto

import (
	"context"
	"time"
)

// ExtendCopy sets copy id to expire ttl from now (0: never), whatever its
// TTL was. A copy that a live ditto process is creating, resetting or
// destroying is busy: its record is that process's to write.
func (m *Manager) ExtendCopy(ctx context.Context, id string, ttl time.Duration) (c *Copy, err error) {
	if ttl < 0 {
		return nil, invalidf("invalid --ttl %s: give a duration such as 30m or 2h, or 0 for no expiry", ttl)
	}
	err = m.Home.Update(func(tx *tx) error {
		if c, err = m.Home.loadCopy(id); err != nil {
			return err
		}
		if c.Busy != nil && c.Busy.Alive() {
			return &busyError{id: id, state: c.State, owner: *c.Busy}
		}
		c.ExpiresAt = time.Time{}
		if ttl > 0 {
			c.ExpiresAt = time.Now().UTC().Add(ttl)
		}
		return tx.Save(c)
	})
	if err != nil {
		return nil, err
	}
	detail := "expires never"
	if !c.ExpiresAt.IsZero() {
		detail = "expires " + c.ExpiresAt.Format(time.RFC3339)
	}
	m.event(ctx, c, EventExtended, detail)
	return c, nil
}
