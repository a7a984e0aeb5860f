package mask

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

type parser struct {
	r         *Rules
	errs      []error
	keepOrder []string
}

func (p *parser) fail(line int, where, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.r.File, Line: line, Where: where, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) err() error { return errors.Join(p.errs...) }

// resolve follows YAML aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// pairs walks a mapping's key/value pairs, reporting duplicate keys and
// keys that are not plain scalars.
func (p *parser) pairs(m *yaml.Node, where string, each func(key, val *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.fail(k.Line, where, "a key must be a plain name")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.fail(k.Line, where, "%q is given twice (first at line %d); keep one", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		each(k, v)
	}
}

func (p *parser) top(root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		p.fail(root.Line, "rules", "expected a mapping with version, key, tables and keep")
		return
	}
	var haveVersion, haveKey bool
	p.pairs(root, "rules", func(k, v *yaml.Node) {
		switch k.Value {
		case "version":
			haveVersion = true
			if v.Kind != yaml.ScalarNode || v.Value != "1" {
				p.fail(v.Line, "version", "%q is not supported; use version: 1", v.Value)
				return
			}
			p.r.Version = 1
		case "key":
			haveKey = true
			p.r.KeyLine = v.Line
			p.key(v)
		case "tables":
			p.tables(v)
		case "keep":
			p.keep(v)
		default:
			p.fail(k.Line, k.Value, "unknown setting; allowed: version, key, tables, keep")
		}
	})
	if !haveVersion {
		p.fail(root.Line, "version", "missing; add version: 1")
	}
	if !haveKey {
		p.fail(root.Line, "key", "missing; add key: env:DITTO_MASK_KEY (or file:PATH) naming the masking secret")
	}
}

func (p *parser) key(v *yaml.Node) {
	const allowed = "use env:NAME (an environment variable) or file:PATH (a file holding the secret)"
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.fail(v.Line, "key", "must name where the secret is; %s", allowed)
		return
	}
	kind, ref, ok := strings.Cut(v.Value, ":")
	if !ok || (kind != "env" && kind != "file") || strings.TrimSpace(ref) == "" {
		p.fail(v.Line, "key", "%q is not a key source; %s, never the secret itself", v.Value, allowed)
		return
	}
	p.r.Key = v.Value
}

func (p *parser) tables(v *yaml.Node) {
	if v.Tag == "!!null" {
		return // an empty section
	}
	if v.Kind != yaml.MappingNode {
		p.fail(v.Line, "tables", "expected a mapping of schema.table to column rules")
		return
	}
	p.pairs(v, "tables", func(k, cols *yaml.Node) {
		name, ok := tableName(k.Value)
		if !ok {
			p.fail(k.Line, k.Value, "not a table name; write schema.table, e.g. public.customer")
			return
		}
		if prev, dup := p.r.Tables[name]; dup {
			p.fail(k.Line, name, "the table is given twice (first at line %d); keep one", prev.Line)
			return
		}
		t := &TableRule{Name: name, Line: k.Line, Columns: map[string]*ColumnRule{}}
		p.r.Tables[name] = t
		p.table(t, cols)
	})
}

func (p *parser) table(t *TableRule, cols *yaml.Node) {
	if cols.Kind != yaml.MappingNode || len(cols.Content) == 0 {
		p.fail(cols.Line, t.Name, "expected column rules (column: transformer) or {rows: none}")
		return
	}
	p.pairs(cols, t.Name, func(k, v *yaml.Node) {
		if k.Value == "rows" && v.Kind == yaml.ScalarNode && v.Value == "none" {
			t.DropRows = true
			return
		}
		c := &ColumnRule{Table: t.Name, Column: k.Value, Line: k.Line}
		p.column(c, v)
		t.Columns[c.Column] = c
	})
	if t.DropRows && len(t.Columns) > 0 {
		p.fail(t.Line, t.Name, "rows: none drops every row, so column rules mean nothing; remove them or the rows: none")
	}
}

// column parses `email`, `null`, or `{transform: date_shift, max_days: 30}`.
func (p *parser) column(c *ColumnRule, v *yaml.Node) {
	where := c.Table + "." + c.Column
	o := &options{p: p, where: where, line: v.Line, vals: map[string]*yaml.Node{}}
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		c.Transform = "null"
	case v.Kind == yaml.ScalarNode:
		c.Transform = v.Value
	case v.Kind == yaml.MappingNode:
		p.pairs(v, where, func(k, val *yaml.Node) {
			if k.Value != "transform" {
				o.vals[k.Value] = val
				return
			}
			if val.Kind != yaml.ScalarNode || val.Value == "" {
				p.fail(val.Line, where, "transform must be a transformer name; use one of: %s", strings.Join(Names(), ", "))
				return
			}
			c.Transform = val.Value
		})
		if c.Transform == "" {
			p.fail(v.Line, where, "missing transform; write {transform: NAME, ...} with one of: %s", strings.Join(Names(), ", "))
			return
		}
	default:
		p.fail(v.Line, where, "expected a transformer name, null, or {transform: NAME, option: value}")
		return
	}
	d, ok := transformers[c.Transform]
	if !ok {
		p.fail(v.Line, where, "unknown transformer %q; use one of: %s", c.Transform, strings.Join(Names(), ", "))
		return
	}
	o.name = c.Transform
	o.checkNames(d.options)
	c.k = d.build(o)
	c.spec = o.spec()
}

func (p *parser) keep(v *yaml.Node) {
	if v.Tag == "!!null" {
		return
	}
	if v.Kind != yaml.SequenceNode {
		p.fail(v.Line, "keep", "expected a list of schema.table.column")
		return
	}
	for _, e := range v.Content {
		e = resolve(e)
		ref, ok := columnName(e.Value)
		if e.Kind != yaml.ScalarNode || !ok {
			p.fail(e.Line, "keep", "%q is not a column; write schema.table.column, e.g. public.customer.active", e.Value)
			continue
		}
		if first, dup := p.r.Keep[ref]; dup {
			p.fail(e.Line, "keep", "%s is listed twice (first at line %d); keep one", ref, first)
			continue
		}
		p.r.Keep[ref] = e.Line
		p.keepOrder = append(p.keepOrder, ref)
	}
}

// conflicts reports columns both kept and masked; it runs after the whole
// file is read, since keep may come before tables.
func (p *parser) conflicts() {
	for _, ref := range p.keepOrder {
		table, col := splitColumn(ref)
		if t := p.r.Tables[table]; t != nil && t.Columns[col] != nil {
			p.fail(p.r.Keep[ref], ref, "listed in keep and given a rule at line %d; choose one", t.Columns[col].Line)
		}
	}
}
