package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
)

// reseedPoll is how often `ditto reseed` asks the daemon how its reseed
// goes.
const reseedPoll = time.Second

// reseedConfigured has the daemon reseed from its configured source and
// waits for the outcome.
func reseedConfigured(c *cli.Context) error {
	for _, f := range []string{"database", "pg-bin", "jobs", "rules", "allow-unmasked", "after-restore"} {
		if c.IsSet(f) {
			return &ditto.Error{Code: ditto.CodeInvalid, Message: "--" + f + " applies to a reseed from --dump or --source-url",
				Hint: "the daemon's reseed takes its options from its config's reseed: section"}
		}
	}
	svc, err := service(c)
	if err != nil {
		return err
	}
	st, err := svc.Reseed(c.Context)
	if err != nil {
		return err
	}
	if st.Running == nil {
		return fmt.Errorf("the ditto daemon did not say which reseed it started")
	}
	started := st.Running.StartedAt
	fmt.Fprintln(os.Stderr, "the daemon reseeds from its configured source; waiting for the end (Ctrl-C stops waiting, not the reseed)")
	for {
		if r := st.LastSuccess; r != nil && r.StartedAt.Equal(started) {
			fmt.Fprintf(os.Stderr, "reseed done in %s\n", r.Duration().Round(time.Millisecond))
			fmt.Println(r.Generation)
			return nil
		}
		if r := st.LastFailure; r != nil && r.StartedAt.Equal(started) {
			return &ditto.Error{Code: ditto.CodeInternal, Message: "the daemon's reseed failed: " + r.Error,
				Hint: "the previous golden stays current; the daemon's log has the details"}
		}
		if r := st.Running; r == nil || !r.StartedAt.Equal(started) {
			return &ditto.Error{Code: ditto.CodeInternal, Message: "the daemon's reseed ended without an outcome",
				Hint: "the daemon stopped meanwhile? the previous golden stays current; see its log"}
		}
		select {
		case <-c.Context.Done():
			return c.Context.Err()
		case <-time.After(reseedPoll):
		}
		if st, err = svc.ReseedStatus(c.Context); err != nil {
			return err
		}
	}
}
