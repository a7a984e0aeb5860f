package server

import (
	"net/http"
)

// reseedRequest is the body of POST /v1/reseed: nothing. The source is the
// daemon's configured one; a body naming another is refused as an unknown
// field.
type reseedRequest struct{}

// startReseed answers 202 with the status once the reseed holds the lock;
// it runs on in the daemon, whatever the caller does next.
func (s *Server) startReseed(w http.ResponseWriter, r *http.Request, d Domain) error {
	if err := decode(r, &reseedRequest{}); err != nil {
		return err
	}
	st, err := d.Reseed(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, st)
	return nil
}

func (s *Server) reseedStatus(w http.ResponseWriter, r *http.Request, d Domain) error {
	st, err := d.ReseedStatus(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
