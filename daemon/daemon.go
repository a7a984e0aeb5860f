// Package daemon is `ditto serve`: it owns the state directory while it
// runs and serves the API on a Unix socket, where the kernel tells it who
// each caller is (SO_PEERCRED). It sweeps expired and abandoned copies
// itself, so TTLs hold with nobody running ditto.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
	"github.com/dittodb/ditto/api/server"
	"github.com/dittodb/ditto/daemon/metrics"
	"github.com/dittodb/ditto/internal/state"
)

// DefaultSocket is where the daemon listens unless told otherwise, and
// where the CLI looks for it.
const DefaultSocket = "/run/ditto/ditto.sock"

// Options are the choices of `ditto serve`.
type Options struct {
	Socket string
	// Group may use the socket (mode 0660, owned by root and this group).
	Group string
	// AdminGroup's members see and act on every copy; "" means root only.
	AdminGroup string
	// MaxStarts bounds the copies starting at once, MaxQueue the requests
	// waiting for their turn; beyond, callers are told to retry (0: the
	// server's defaults).
	MaxStarts, MaxQueue int
	// APIListen, when set, is a TCP address (HOST:PORT) where the API is
	// served too, over TLS only, to bearers of tokens (ditto token create).
	APIListen string
	// TLSCert and TLSKey are the files of that listener's certificate;
	// empty: ditto's CA issues one.
	TLSCert, TLSKey string
	// APIHosts are the names clients use for this machine: the issued
	// certificate is for them too, and the first is the host in the URLs
	// of copies made over TCP.
	APIHosts []string
	// SweepEvery is how often expired and abandoned copies are removed;
	// GCEvery, how often a whole gc runs (leftovers of crashes).
	SweepEvery, GCEvery time.Duration
	// Reseed is where reseeds come from and when they run; nil: the
	// daemon does not reseed.
	Reseed *Reseeding
	// Warm is the number of warm copies kept ready (package warm).
	Warm int
}

// stopWait bounds how long a stopping daemon waits for requests in flight
// (a create takes well under a second; a destroy waits up to a minute for
// another process's).
const stopWait = 30 * time.Second

// Serve serves the API until ctx ends, then finishes the requests in
// flight (for up to stopWait) and returns.
func Serve(ctx context.Context, m *ditto.Manager, log hclog.Logger, o Options) error {
	gid, err := groupID(o.Group)
	if err != nil {
		return err
	}
	admins, err := adminGroup(o.AdminGroup)
	if err != nil {
		return err
	}
	lock, err := state.TryLock(m.Home.ServeLock())
	if errors.Is(err, state.ErrLocked) {
		return fmt.Errorf("another `ditto serve` runs on %s: stop it first (`sudo systemctl stop ditto`)", m.Home.Dir)
	} else if err != nil {
		return err
	}
	defer lock.Unlock()

	// adopt what a previous daemon or a crash left: copies whose callers
	// died meanwhile, servers and volumes no record explains
	report(log, "start-up gc", m.GC(ctx))

	ln, err := listen(o.Socket, gid)
	if err != nil {
		return err
	}
	reseedCtx, stopReseed := context.WithCancel(context.WithoutCancel(ctx))
	defer stopReseed()
	var reseeds api.Reseeder // stays a nil interface without a reseed: section
	reseeded := make(chan struct{})
	if o.Reseed != nil {
		r := newReseeder(reseedCtx, m, log, o.Reseed)
		reseeds = r
		go func() {
			defer close(reseeded)
			r.schedule()
		}()
	} else {
		close(reseeded)
		if st, err := m.ReseedStatus(); err == nil && st.NextRun != nil { // of a daemon with a schedule
			_ = m.SetNextReseed(nil)
		}
	}
	var rm *remote
	if o.APIListen != "" {
		if rm, err = listenRemote(m, log, o); err != nil {
			ln.Close()
			return err
		}
	}
	pool, stopWarm := startWarm(ctx, m, log, o.Warm)
	defer stopWarm()
	met := metrics.New(m)
	m.AddObserver(met)
	so := server.Options{
		Log: log, MaxStarts: o.MaxStarts, MaxQueue: o.MaxQueue,
		For: func(p server.Peer) server.Domain {
			return api.Local{M: m, Caller: p.Caller, Process: p.Process, Reseeder: reseeds, Remote: p.Remote, Warm: pool}
		},
		Metrics:  met.Handler(),
		Requests: met.Request,
	}
	if rm != nil {
		so.CA = rm.ca.PEM()
	}
	srv := server.New(so)
	hs := srv.HTTPServer()
	hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		p, err := peerOf(c, admins)
		if err != nil {
			log.Warn("cannot tell who connected; its requests are refused", "error", err)
			return ctx
		}
		return server.WithPeer(ctx, p)
	}
	hs.ErrorLog = log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})

	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		sweeper(sweepCtx, m, log, o)
	}()
	servers := []*http.Server{hs}
	served := make(chan error, 2)
	go func() { served <- hs.Serve(ln) }()
	if rm != nil {
		tcp := srv.HTTPServer()
		tcp.ConnContext = rm.connContext
		tcp.ErrorLog = hs.ErrorLog
		servers = append(servers, tcp)
		go func() { served <- tcp.Serve(rm.ln) }()
	}
	log.Info("serving", "socket", o.Socket, "group", o.Group, "admin_group", o.AdminGroup, "home", m.Home.Dir, "warm", o.Warm)

	select {
	case err = <-served:
		for _, s := range servers {
			s.Close()
		}
	case <-ctx.Done():
		log.Info("stopping: finishing the requests in flight", "within", stopWait)
		sctx, cancel := context.WithTimeout(context.Background(), stopWait)
		for _, s := range servers {
			if serr := s.Shutdown(sctx); serr != nil {
				log.Warn("requests still in flight after the wait; closing their connections", "error", serr)
				err = errors.Join(err, s.Close())
			}
		}
		cancel()
	}
	stopSweep()
	<-swept
	stopReseed() // a reseed under way stops; the old golden stays current
	<-reseeded
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err == nil {
		log.Info("stopped; the copies' servers keep running")
	}
	return err
}

// listen makes the socket: a stale one (of a daemon that died) is
// replaced, a live one refused. It is created under a umask that lets
// nobody else in, then handed to root and group gid with mode 0660.
func listen(path string, gid int) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the socket's folder: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket: remove it, or give another --socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("a ditto daemon already listens on %s: stop it first (`sudo systemctl stop ditto`), or give another --socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the stale socket %s: %w", path, err)
		}
	}
	old := unix.Umask(0o177)
	ln, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		ln.Close()
		return nil, fmt.Errorf("giving the socket %s to its group: %w (run ditto serve as root)", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// sweeper removes expired and abandoned copies every SweepEvery, and runs
// a whole gc every GCEvery, until ctx ends.
func sweeper(ctx context.Context, m *ditto.Manager, log hclog.Logger, o Options) {
	sweep, gc := time.NewTicker(o.SweepEvery), time.NewTicker(o.GCEvery)
	defer sweep.Stop()
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			report(log, "sweep", m.Sweep(ctx))
		case <-gc.C:
			report(log, "gc", m.GC(ctx))
		}
	}
}

// report logs what a sweep or gc did, when it did anything; each removed
// copy is logged by the Manager already.
func report(log hclog.Logger, what string, r *ditto.GCReport) {
	for _, e := range r.Errors {
		log.Warn(what+" could not do everything; it is retried next time", "error", e)
	}
	if n := len(r.Goldens) + len(r.Building) + len(r.Volumes) + len(r.Processes) + len(r.Files); n > 0 {
		log.Info(what+" removed leftovers", "goldens", len(r.Goldens), "half_built", len(r.Building),
			"volumes", len(r.Volumes), "processes", len(r.Processes), "files", len(r.Files))
	}
}
