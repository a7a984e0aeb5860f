package mask

import "testing"

var testSchema = &Schema{Tables: []Table{
	{Schema: "public", Name: "customer", Columns: []Column{
		{Name: "id", Type: "integer", NotNull: true, Unique: true},
		{Name: "email", Type: "character varying(255)", NotNull: true, Unique: true},
		{Name: "short", Type: "character varying(20)"},
		{Name: "code", Type: "varchar(8)"},
		{Name: "notes", Type: "text", NotNull: true},
		{Name: "born", Type: "date"},
		{Name: "age", Type: "smallint"},
		{Name: "nick", Type: "text", Unique: true},
		{Name: "tags", Type: "text[]"},
		{Name: "active", Type: "boolean"},
	}},
	{Schema: "public", Name: "order", Columns: []Column{
		{Name: "id", Type: "bigint"},
		{Name: "customer_email", Type: "character varying(255)", References: "public.customer.email"},
		{Name: "customer_id", Type: "integer", References: "public.customer.id"},
		{Name: "audit_id", Type: "integer", References: "public.audit.id"},
	}},
	{Schema: "public", Name: "audit", Columns: []Column{{Name: "id", Type: "integer"}}},
	{Schema: "sales", Name: "lead", Columns: []Column{{Name: "id", Type: "integer"}}},
}}

func TestValidate(t *testing.T) {
	r := testRules(t, `version: 1
key: env:K
tables:
  public.customer:
    email: email
    id: int_noise
    notes: null
    short: email
    code: {transform: regex_replace, pattern: "a", replacement: "bb"}
    born: date_shift
    age: email
    ghost: hash
    nick: first_name
    tags: {transform: const, value: "{}"}
  public.order: {customer_email: hash}
  public.lead: {id: keep}
  public.audit: {rows: none}
keep: [public.customer.gone, public.customer.active]
`)
	want := []string{
		"line 11: public.customer.age: type: email gives text values, which column type smallint does not take; for integer use int_noise, const, null or keep",
		"line 9: public.customer.code: length: regex_replace output has no length limit and may not fit varchar(8); use a transformer with bounded output",
		"line 12: public.customer.ghost: missing: the table has no such column; it has: id, email, short, code, notes, born, age, nick, tags, active",
		"line 18: public.customer.gone: missing: listed in keep, but the database has no such column",
		"line 6: public.customer.id: unique: the column is unique, but int_noise can give equal outputs for different inputs; use email, username, hash or uuid (or keep)",
		"line 13: public.customer.nick: unique: the column is unique, but first_name can give equal outputs for different inputs; use email, username, hash or uuid (or keep)",
		"line 7: public.customer.notes: not-null: null on a NOT NULL column; use const or another transformer, or {rows: none} on the table",
		"line 8: public.customer.short: length: email gives up to 50 characters, more than character varying(20) holds; widen the column or use a shorter transformer or option",
		"line 16: public.lead: missing: the rules name this table, but the database has no such table; fix the name (schema.table); did you mean sales.lead?",
		"public.order.audit_id: foreign-key: references public.audit.id, whose rows are dropped (rows: none); drop this table's rows too or null this column",
		`line 15: public.order.customer_email: foreign-key: references public.customer.email but is masked as "email" there and "hash" here; mask both ends alike so the foreign key still matches`,
		`public.order.customer_id: foreign-key: references public.customer.id but is masked as "int_noise" there and "keep" here; mask both ends alike so the foreign key still matches`,
	}
	got := Validate(r, testSchema)
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("problem %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

func TestValidateClean(t *testing.T) {
	r := testRules(t, `version: 1
key: env:K
tables:
  public.customer:
    email: email
    short: {transform: hash, length: 20}
    code: digits
    born: date_shift
    age: {transform: int_noise, ratio: 0.5}
    nick: username
    notes: {transform: const, value: "-"}
    tags: {transform: const, value: "{}"}
  public.order: {customer_email: email, customer_id: null, audit_id: null}
  public.audit: {rows: none}
  sales.lead: {id: keep}
keep: [public.customer.active]
`)
	if ps := Validate(r, testSchema); len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	// email with a short domain needs 43 characters.
	r = testRules(t, "version: 1\nkey: env:K\ntables:\n  t: {a: {transform: email, domain: x.io}, b: {transform: email, domain: x.io}}\n")
	ps := Validate(r, &Schema{Tables: []Table{{Schema: "public", Name: "t", Columns: []Column{{Name: "a", Type: "varchar(43)"}, {Name: "b", Type: "varchar(42)"}}}}})
	if len(ps) != 1 || ps[0].String() != "line 4: public.t.b: length: email gives up to 43 characters, more than varchar(42) holds; widen the column or use a shorter transformer or option" {
		t.Errorf("problems: %v", ps)
	}
}

func TestTypeClass(t *testing.T) {
	cases := []struct {
		typ   string
		class class
		max   int
	}{
		{"text", classText, 0}, {"character varying(50)", classText, 50}, {"character varying", classText, 0},
		{"varchar(10)", classText, 10}, {"character(3)", classText, 3}, {"character", classText, 1},
		{"bpchar", classText, 0}, {"CITEXT", classText, 0}, {"pg_catalog.text", classText, 0},
		{"integer", classInt, 0}, {"bigint", classInt, 0}, {"smallserial", classInt, 0},
		{"numeric(12,2)", classNumeric, 0}, {"double precision", classNumeric, 0},
		{"timestamp(3) with time zone", classDate, 0}, {"timestamp without time zone", classDate, 0}, {"date", classDate, 0},
		{"uuid", classUUID, 0}, {"inet", classInet, 0}, {"cidr", classOther, 0}, {"jsonb", classJSON, 0},
		{"boolean", classBool, 0}, {"text[]", classOther, 0}, {"character varying(20)[]", classOther, 0},
		{"mood", classOther, 0}, {"bytea", classOther, 0}, {"money", classOther, 0},
	}
	for _, c := range cases {
		if cl, n := typeClass(c.typ); cl != c.class || n != c.max {
			t.Errorf("typeClass(%q) = %v, %d; want %v, %d", c.typ, cl, n, c.class, c.max)
		}
	}
}

func TestCheckSortsEverything(t *testing.T) {
	r := testRules(t, "version: 1\nkey: env:K\ntables:\n  public.customer: {email: null}\n")
	ps := Check(r, testSchema, nil)
	kinds := map[string]int{}
	for _, p := range ps {
		kinds[p.Kind]++
	}
	if kinds[ProblemNotNull] != 1 || kinds[ProblemUnmasked] == 0 {
		t.Errorf("problems: %v", ps)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i-1].Table+"."+ps[i-1].Column > ps[i].Table+"."+ps[i].Column {
			t.Errorf("not sorted: %v before %v", ps[i-1], ps[i])
		}
	}
}
