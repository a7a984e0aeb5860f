package mask

import (
	"errors"
	"strings"
	"testing"
)

// issueExample is the rules file from the masking issue.
const issueExample = `version: 1
key: env:DITTO_MASK_KEY   # secret for deterministic masking
tables:
  public.customer:
    email: email                              # transformer by name
    first_name: first_name
    last_name: last_name
    phone: {transform: phone}
    notes: null                               # always NULL
    birth_date: {transform: date_shift, max_days: 180}
    password_hash: {transform: const, value: "x"}
  public.address:
    address: street_address
    postal_code: {transform: digits}          # same length, digits replaced
  public.audit_log: {rows: none}              # keep the table, drop every row
keep:                                         # columns deliberately passed through
  - public.customer.active
`

func TestParseIssueExample(t *testing.T) {
	r, err := Parse("ditto-mask.yaml", []byte(issueExample))
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 || r.Key != "env:DITTO_MASK_KEY" || r.KeyLine != 2 {
		t.Errorf("version %d key %q line %d", r.Version, r.Key, r.KeyLine)
	}
	c := r.Table("public.customer")
	if c == nil || len(c.Columns) != 7 || c.DropRows {
		t.Fatalf("public.customer: %+v", c)
	}
	for col, want := range map[string]string{"email": "email", "phone": "phone", "notes": "null", "birth_date": "date_shift", "password_hash": "const"} {
		if got := c.Columns[col].Transform; got != want {
			t.Errorf("%s: transform %q, want %q", col, got, want)
		}
	}
	if got := c.Columns["birth_date"]; got.Line != 10 || got.k.(dateShift).maxDays != 180 {
		t.Errorf("birth_date: line %d, %+v", got.Line, got.k)
	}
	if !r.Table("public.audit_log").DropRows {
		t.Error("audit_log rows: none")
	}
	if r.Keep["public.customer.active"] != 17 {
		t.Errorf("keep: %v", r.Keep)
	}
	if r.Table("public.nope") != nil || (*Rules)(nil).Table("x.y") != nil {
		t.Error("Table of an unknown table")
	}
}

func TestParseEmptySections(t *testing.T) {
	r, err := Parse("r.yaml", []byte("version: 1\nkey: env:K\ntables:\nkeep:\n"))
	if err != nil || len(r.Tables) != 0 || len(r.Keep) != 0 {
		t.Errorf("%+v, %v", r, err)
	}
}

func TestParseShortNames(t *testing.T) {
	r, err := Parse("r.yaml", []byte("version: 1\nkey: file:k\ntables:\n  customer:\n    email: email\n    rows: keep\n  base: &b {email: hash}\n  public.copy: *b\nkeep: [customer.active]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Table("public.customer").Columns["rows"].Transform != "keep" {
		t.Error("a column named rows with a transformer is a column rule")
	}
	if r.Table("public.copy").Columns["email"].Transform != "hash" {
		t.Error("aliases are followed")
	}
	if _, ok := r.Keep["public.customer.active"]; !ok {
		t.Errorf("keep: %v", r.Keep)
	}
}

// TestParseErrors checks every message: each names the file, the line, the
// table or column, and what is allowed.
func TestParseErrors(t *testing.T) {
	const head = "version: 1\nkey: env:K\ntables:\n  public.t:\n"
	names := strings.Join(Names(), ", ")
	cases := []struct{ name, yaml, want string }{
		{"empty", "", `r.yaml:1: rules: the file is empty; expected version: 1, key: env:NAME and tables:`},
		{"not a mapping", "- a", `r.yaml:1: rules: expected a mapping with version, key, tables and keep`},
		{"no version", "key: env:K", `r.yaml:1: version: missing; add version: 1`},
		{"no key", "version: 1", `r.yaml:1: key: missing; add key: env:DITTO_MASK_KEY (or file:PATH) naming the masking secret`},
		{"version", "version: 2\nkey: env:K", `r.yaml:1: version: "2" is not supported; use version: 1`},
		{"key literal", "version: 1\nkey: hunter2", `r.yaml:2: key: "hunter2" is not a key source; use env:NAME (an environment variable) or file:PATH (a file holding the secret), never the secret itself`},
		{"key empty ref", "version: 1\nkey: 'env: '", `r.yaml:2: key: "env: " is not a key source`},
		{"key null", "version: 1\nkey:", `r.yaml:2: key: must name where the secret is; use env:NAME`},
		{"unknown setting", "version: 1\nkey: env:K\nmasks: {}", `r.yaml:3: masks: unknown setting; allowed: version, key, tables, keep`},
		{"duplicate setting", "version: 1\nversion: 1\nkey: env:K", `r.yaml:2: rules: "version" is given twice (first at line 1); keep one`},
		{"complex key", "version: 1\nkey: env:K\n? [a]\n: b", `r.yaml:3: rules: a key must be a plain name`},
		{"tables list", "version: 1\nkey: env:K\ntables: [a]", `r.yaml:3: tables: expected a mapping of schema.table to column rules`},
		{"table name", "version: 1\nkey: env:K\ntables:\n  a.b.c: {x: email}", `r.yaml:4: a.b.c: not a table name; write schema.table, e.g. public.customer`},
		{"same table twice", "version: 1\nkey: env:K\ntables:\n  t: {x: email}\n  public.t: {x: email}", `r.yaml:5: public.t: the table is given twice (first at line 4); keep one`},
		{"empty table", "version: 1\nkey: env:K\ntables:\n  public.t: {}", `r.yaml:4: public.t: expected column rules (column: transformer) or {rows: none}`},
		{"rows none and columns", "version: 1\nkey: env:K\ntables:\n  public.t: {rows: none, x: email}", `r.yaml:4: public.t: rows: none drops every row, so column rules mean nothing; remove them or the rows: none`},
		{"duplicate column", head + "    x: email\n    x: hash", `r.yaml:6: public.t: "x" is given twice (first at line 5); keep one`},
		{"unknown transformer", head + "    x: emial", `r.yaml:5: public.t.x: unknown transformer "emial"; use one of: ` + names},
		{"list", head + "    x: [email]", `r.yaml:5: public.t.x: expected a transformer name, null, or {transform: NAME, option: value}`},
		{"no transform", head + "    x: {max_days: 3}", `r.yaml:5: public.t.x: missing transform; write {transform: NAME, ...} with one of: ` + names},
		{"transform not a name", head + "    x: {transform: [a]}", `r.yaml:5: public.t.x: transform must be a transformer name; use one of: ` + names},
		{"unknown option", head + "    x: {transform: phone, fmt: x}", `r.yaml:5: public.t.x: phone has no option "fmt"; it takes options: format`},
		{"option of optionless", head + "    x: {transform: city, format: x}", `r.yaml:5: public.t.x: city has no option "format"; it takes no options`},
		{"int option", head + "    x: {transform: date_shift, max_days: abc}", `r.yaml:5: public.t.x: date_shift option max_days: "abc" is not allowed; expected an integer from 1 to 36500`},
		{"int option range", head + "    x: {transform: hash, length: 8}", `r.yaml:5: public.t.x: hash option length: "8" is not allowed; expected an integer from 16 to 64`},
		{"float option", head + "    x: {transform: int_noise, ratio: 2}", `r.yaml:5: public.t.x: int_noise option ratio: "2" is not allowed; expected a number above 0 and at most 1`},
		{"option not scalar", head + "    x: {transform: email, domain: [a]}", `r.yaml:5: public.t.x: email option domain: expected a single value`},
		{"missing option", head + "    x: {transform: const}", `r.yaml:5: public.t.x: const needs option value, e.g. {transform: const, value: "x"}`},
		{"bad regex", head + "    x: {transform: regex_replace, pattern: '('}", "r.yaml:5: public.t.x: regex_replace option pattern: error parsing regexp: missing closing ): `(`; the syntax is Go's RE2"},
		{"json empty", head + "    x: {transform: json}", `r.yaml:5: public.t.x: json needs set, delete or mask, e.g. {transform: json, mask: {contact.email: email}, delete: [ssn]}`},
		{"json delete", head + "    x: {transform: json, delete: ssn}", `r.yaml:5: public.t.x: json option delete: expected a list of paths, e.g. [ssn, cards.*.number]`},
		{"json set", head + "    x: {transform: json, set: [a]}", `r.yaml:5: public.t.x: json option set: expected a mapping of path to value, e.g. {contact.email: email}`},
		{"json path", head + "    x: {transform: json, delete: [a..b]}", `r.yaml:5: public.t.x: json option delete: "a..b" is not a path; write keys joined by dots, e.g. contact.email or items.*.card`},
		{"json nested", head + "    x: {transform: json, mask: {a.b: emial}}", `r.yaml:5: public.t.x.a.b: unknown transformer "emial"; use one of: ` + names},
		{"keep not a list", "version: 1\nkey: env:K\nkeep: a.b.c", `r.yaml:3: keep: expected a list of schema.table.column`},
		{"keep entry", "version: 1\nkey: env:K\nkeep: [active]", `r.yaml:3: keep: "active" is not a column; write schema.table.column, e.g. public.customer.active`},
		{"keep twice", "version: 1\nkey: env:K\nkeep:\n  - t.a\n  - public.t.a", `r.yaml:5: keep: public.t.a is listed twice (first at line 4); keep one`},
		{"keep and rule", "version: 1\nkey: env:K\nkeep: [t.x]\ntables:\n  t: {x: email}", `r.yaml:3: public.t.x: listed in keep and given a rule at line 5; choose one`},
		{"yaml", "a: [b", `r.yaml: not valid YAML: yaml: line 1: did not find expected ',' or ']'`},
	}
	for _, c := range cases {
		_, err := Parse("r.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error\n%v\nwant it to contain\n%s", c.name, err, c.want)
		}
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse("r.yaml", []byte("version: 3\nkey: x\ntables:\n  t: {a: emial, b: {transform: hash, length: 1}}\n"))
	var perr *Error
	if !errors.As(err, &perr) || perr.File != "r.yaml" || perr.Line != 1 {
		t.Fatalf("first error: %#v", perr)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 4 {
		t.Errorf("%d problems reported, want 4:\n%v", n, err)
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(t.TempDir() + "/none.yaml"); err == nil || !strings.Contains(err.Error(), "--rules or DITTO_RULES") {
		t.Errorf("Load of a missing file: %v", err)
	}
}
