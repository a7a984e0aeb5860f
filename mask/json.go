package mask

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The json transformer edits documents at dotted paths ("contact.email",
// "items.*.card"; * is every member of an object or array, a number an array
// index). Options: set (path: constant), delete (paths) and mask (path:
// transformer, like a column rule). Paths that are absent are left absent;
// a document shaped otherwise than a path expects is never passed through
// (see edit).
func init() {
	register("json", definition{options: []string{"set", "delete", "mask"}, build: buildJSON})
}

type jsonOp struct {
	path  []string
	del   bool
	value any // set: the constant
	name  string
	k     kernel // mask: the transformer
	fills bool   // its out().fillsEmpty, which may be costly to work out
}

type jsonEdit struct{ ops []jsonOp }

func buildJSON(o *options) kernel {
	var k jsonEdit
	if n := o.vals["set"]; n != nil {
		o.mapping("set", func(path []string, v *yaml.Node) {
			op := jsonOp{path: path}
			if err := v.Decode(&op.value); err != nil {
				o.fail("set", "%v", err)
			}
			k.ops = append(k.ops, op)
		})
	}
	if n := o.vals["delete"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			o.fail("delete", "expected a list of paths, e.g. [ssn, cards.*.number]")
		}
		for _, e := range n.Content {
			if path, ok := o.jsonPath("delete", e.Value); ok {
				k.ops = append(k.ops, jsonOp{path: path, del: true})
			}
		}
	}
	if n := o.vals["mask"]; n != nil {
		o.mapping("mask", func(path []string, v *yaml.Node) {
			c := &ColumnRule{Table: o.where, Column: strings.Join(path, ".")}
			o.p.column(c, v)
			if c.k != nil {
				k.ops = append(k.ops, jsonOp{path: path, name: c.Transform, k: c.k, fills: c.k.out().fillsEmpty})
			}
		})
	}
	if len(o.vals) == 0 {
		o.p.fail(o.line, o.where, "json needs set, delete or mask, e.g. {transform: json, mask: {contact.email: email}, delete: [ssn]}")
	}
	return k
}

// mapping walks an option that maps paths to values.
func (o *options) mapping(opt string, each func(path []string, v *yaml.Node)) {
	n := o.vals[opt]
	if n.Kind != yaml.MappingNode {
		o.fail(opt, "expected a mapping of path to value, e.g. {contact.email: email}")
		return
	}
	o.p.pairs(n, o.where, func(k, v *yaml.Node) {
		if path, ok := o.jsonPath(opt, k.Value); ok {
			each(path, v)
		}
	})
}

func (o *options) jsonPath(opt, s string) ([]string, bool) {
	path := strings.Split(s, ".")
	for _, seg := range path {
		if seg == "" {
			o.fail(opt, "%q is not a path; write keys joined by dots, e.g. contact.email or items.*.card", s)
			return nil, false
		}
	}
	return path, true
}

var errNotJSON = errors.New("json: value is not valid JSON")

func (k jsonEdit) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return dst, false, errNotJSON
	}
	for _, op := range k.ops {
		var keep bool
		var err error
		if doc, keep, err = edit(doc, op.path, func(old any) (any, bool, error) { return op.apply(old, h) }); err != nil {
			return dst, false, err
		}
		if !keep { // the whole document stood where the path was deleted
			doc = nil
		}
	}
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // keep <, > and & as they are
	if err := enc.Encode(doc); err != nil {
		return dst, false, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), false, nil
}

func (jsonEdit) out() output { return output{classes: classJSON | classText, maxLen: unbounded} }

// apply returns the new value for old, or keep=false to remove it.
func (op jsonOp) apply(old any, h *hmacer) (v any, keep bool, err error) {
	switch {
	case op.del:
		return nil, false, nil
	case op.k == nil:
		return op.value, true, nil
	case old == nil:
		return nil, true, nil // JSON null stays null, as SQL NULL does
	}
	var in []byte
	switch x := old.(type) {
	case string:
		in = []byte(x)
	case json.Number:
		in = []byte(x)
	case bool:
		in = strconv.AppendBool(nil, x)
	default:
		if in, err = json.Marshal(x); err != nil {
			return nil, false, err
		}
	}
	t := Transformer{name: op.name, k: op.k, h: h.sub(op.name), fillsEmpty: op.fills}
	out, null, err := t.Mask(nil, in)
	if err != nil || null {
		return nil, true, err
	}
	if _, isNum := old.(json.Number); isNum && len(out) > 0 && (out[0] == '-' || out[0] >= '0' && out[0] <= '9') && json.Valid(out) {
		return json.Number(out), true, nil
	}
	return string(out), true, nil
}

// edit calls fn on every value at path below node, and returns node with
// their replacements, or keep=false when fn removed node itself. None of a
// document shaped otherwise than the path expects may slip through: a
// string, number or boolean where the path goes deeper stands for all that
// would be below it and goes to fn whole; an array where the path names a
// key takes the path in each element. null holds nothing and stays.
func edit(node any, path []string, fn func(any) (any, bool, error)) (any, bool, error) {
	if len(path) == 0 {
		return fn(node)
	}
	seg := path[0]
	switch n := node.(type) {
	case nil:
		return nil, true, nil
	case map[string]any:
		for key, child := range n {
			if seg != "*" && seg != key {
				continue
			}
			v, keep, err := edit(child, path[1:], fn)
			if err != nil {
				return nil, false, err
			}
			if keep {
				n[key] = v
			} else {
				delete(n, key)
			}
		}
		return n, true, nil
	case []any:
		index := seg == "*" || isIndex(seg)
		out := n[:0]
		for i, child := range n {
			v, keep, err := child, true, error(nil)
			switch {
			case !index:
				v, keep, err = edit(child, path, fn)
			case seg == "*" || seg == strconv.Itoa(i):
				v, keep, err = edit(child, path[1:], fn)
			}
			if err != nil {
				return nil, false, err
			}
			if keep {
				out = append(out, v)
			}
		}
		return out, true, nil
	}
	return fn(node)
}

// isIndex reports whether a path segment is an array index, as
// strconv.Itoa writes one.
func isIndex(seg string) bool {
	i, err := strconv.Atoi(seg)
	return err == nil && i >= 0 && strconv.Itoa(i) == seg
}
