package mask

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// options gives a transformer's build function typed access to its options.
// Mistakes are recorded on the parser with the option's line and what is
// allowed, and a default is returned so that parsing goes on.
type options struct {
	p     *parser
	where string // "public.customer.email"
	name  string // transformer
	line  int
	vals  map[string]*yaml.Node
}

func (o *options) fail(opt, format string, args ...any) {
	line := o.line
	if n := o.vals[opt]; n != nil {
		line = n.Line
	}
	o.p.fail(line, o.where, "%s option %s: %s", o.name, opt, fmt.Sprintf(format, args...))
}

func (o *options) checkNames(allowed []string) {
	names := make([]string, 0, len(o.vals))
	for n := range o.vals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !slices.Contains(allowed, n) {
			what := "no options"
			if len(allowed) > 0 {
				what = "options: " + strings.Join(allowed, ", ")
			}
			o.p.fail(o.vals[n].Line, o.where, "%s has no option %q; it takes %s", o.name, n, what)
			delete(o.vals, n)
		}
	}
}

// scalar returns the option's text, or ok=false when it is absent. A
// mapping or list where text belongs is reported.
func (o *options) scalar(opt string) (string, bool) {
	n := o.vals[opt]
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		o.fail(opt, "expected a single value")
		return "", false
	}
	return n.Value, true
}

func (o *options) str(opt, def string) string {
	if s, ok := o.scalar(opt); ok {
		return s
	}
	return def
}

func (o *options) required(opt, example string) string {
	if _, present := o.vals[opt]; !present {
		o.p.fail(o.line, o.where, "%s needs option %s, e.g. %s", o.name, opt, example)
		return ""
	}
	return o.str(opt, "")
}

func (o *options) intRange(opt string, def, lo, hi int) int {
	s, ok := o.scalar(opt)
	if !ok {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		o.fail(opt, "%q is not allowed; expected an integer from %d to %d", s, lo, hi)
		return def
	}
	return v
}

func (o *options) floatRange(opt string, def, lo, hi float64) float64 {
	s, ok := o.scalar(opt)
	if !ok {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= lo || v > hi {
		o.fail(opt, "%q is not allowed; expected a number above %g and at most %g", s, lo, hi)
		return def
	}
	return v
}

// spec renders the transformer and its options canonically, so that two
// rules can be compared (a foreign key and the key it references must be
// masked alike).
func (o *options) spec() string {
	names := make([]string, 0, len(o.vals))
	for n := range o.vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(o.name)
	for _, n := range names {
		var v any
		_ = o.vals[n].Decode(&v)
		fmt.Fprintf(&b, " %s=%v", n, v)
	}
	return b.String()
}
