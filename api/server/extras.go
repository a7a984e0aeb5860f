package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
)

func (s *Server) extend(w http.ResponseWriter, r *http.Request, d Domain) error {
	var req api.ExtendRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	v, err := d.Extend(context.WithoutCancel(r.Context()), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, d Domain) error {
	es, err := d.Events(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, es)
	return nil
}

func (s *Server) goldens(w http.ResponseWriter, r *http.Request, d Domain) error {
	gs, err := d.Goldens(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, gs)
	return nil
}

// logs streams a copy's server log as it is read, flushing each piece;
// with ?follow=true until the copy is destroyed or the client hangs up.
func (s *Server) logs(w http.ResponseWriter, r *http.Request, d Domain) error {
	follow := false
	if v := r.URL.Query().Get("follow"); v != "" {
		var err error
		if follow, err = strconv.ParseBool(v); err != nil {
			return &api.Error{Code: ditto.CodeInvalid, Message: "invalid follow=" + strconv.Quote(v), Hint: "give follow=true or follow=false"}
		}
	}
	// a stopping daemon ends the stream, as it ends hold streams
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.holds.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	rc, err := d.Logs(ctx, r.PathValue("id"), follow)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	ctl := http.NewResponseController(w)
	_ = ctl.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := ctl.Flush(); err != nil { // the client has its answer before the first line
		return nil
	}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			_ = ctl.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write(buf[:n]); err != nil {
				return nil // the client is gone: nothing left to answer
			}
			if err := ctl.Flush(); err != nil {
				return nil
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				s.o.Log.Warn("reading a copy's log failed", "id", r.PathValue("id"), "error", rerr)
			}
			return nil
		}
	}
}
