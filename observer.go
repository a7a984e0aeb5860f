package ditto

import "time"

// Op is an operation of the Manager that observers are told of.
type Op string

const (
	OpCreate  Op = "create"
	OpDestroy Op = "destroy"
	OpReseed  Op = "reseed"
	// warm copies add their claims here
)

// Observation is one operation the Manager finished, well or not.
type Observation struct {
	Op   Op
	Took time.Duration
	Err  error // nil: it succeeded
	// Golden is the golden a successful reseed made current.
	Golden *Golden
}

// Observer is told of every operation the Manager finishes: the daemon's
// metrics, and whatever else keeps track of creates and reseeds (a
// schedule's last success and failure). It must return quickly and not
// call back into the Manager.
type Observer interface {
	Observe(Observation)
}

// ObserverFunc is a function as an Observer.
type ObserverFunc func(Observation)

func (f ObserverFunc) Observe(o Observation) { f(o) }

// AddObserver makes o hear of the Manager's operations from now on. Add
// observers before the Manager is shared between goroutines.
func (m *Manager) AddObserver(o Observer) { m.observers = append(m.observers, o) }

func (m *Manager) observe(op Op, t0 time.Time, err error, g *Golden) {
	o := Observation{Op: op, Took: time.Since(t0), Err: err, Golden: g}
	for _, ob := range m.observers {
		ob.Observe(o)
	}
}
