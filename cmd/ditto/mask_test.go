package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// piiSchema is a small database full of personal data: a unique email that
// another table references, names, phones, JSON, NULLs, and text with tabs,
// backslashes and newlines.
const piiSchema = `
CREATE TABLE customer (
    id         int PRIMARY KEY,
    email      varchar(80) NOT NULL UNIQUE,
    first_name text,
    last_name  text,
    phone      text,
    notes      text,
    birth_date date,
    profile    jsonb,
    active     boolean NOT NULL DEFAULT true
);
CREATE TABLE orders (
    id             int PRIMARY KEY,
    customer_email varchar(80) NOT NULL REFERENCES customer (email),
    amount         numeric(10, 2) NOT NULL
);
CREATE TABLE audit_log (id int, message text);
INSERT INTO customer
SELECT i, 'real.person' || i || '@corp-secret.test', 'Firstname' || i, 'Lastname' || i,
       '+1 555 01' || lpad(i::text, 2, '0'),
       CASE WHEN i % 3 = 0 THEN NULL ELSE E'secret note\twith tab\\and backslash\nand newline ' || i END,
       date '1980-01-01' + i,
       jsonb_build_object('contact', jsonb_build_object('email', 'real.person' || i || '@corp-secret.test'), 'tier', 'gold'),
       i % 2 = 0
FROM generate_series(1, 50) AS i;
INSERT INTO orders SELECT i, 'real.person' || (1 + i % 50) || '@corp-secret.test', i FROM generate_series(1, 200) AS i;
INSERT INTO audit_log SELECT i, 'login by real.person' || i || '@corp-secret.test' FROM generate_series(1, 20) AS i;
`

const piiRules = `version: 1
key: env:DITTO_MASK_KEY
tables:
  public.customer:
    email: email
    first_name: first_name
    last_name: last_name
    phone: {transform: phone}
    notes: {transform: hash}
    birth_date: {transform: date_shift, max_days: 180}
    profile: {transform: json, mask: {contact.email: email}}
  public.orders:
    customer_email: email
  public.audit_log: {rows: none}
keep:
  - public.customer.active
`

// rawValues are values that must not appear anywhere in a masked golden.
var rawValues = []string{"corp-secret", "Firstname", "Lastname", "+1 555 01", "secret note"}

func TestMaskedReseed(t *testing.T) {
	f := goldenFixture(t)
	src := f.create()
	mustPsql(t, src.DatabaseURL, "DROP TABLE orders, customer CASCADE;"+piiSchema)
	dir := t.TempDir()
	rules := filepath.Join(dir, "ditto-mask.yaml")
	os.WriteFile(rules, []byte(piiRules), 0o600)
	custom, plain := filepath.Join(dir, "pii.dump"), filepath.Join(dir, "pii.sql")
	pgDump(t, src.DatabaseURL, "c", custom)
	pgDump(t, src.DatabaseURL, "p", plain)
	key := "DITTO_MASK_KEY=a-test-key-of-32-bytes-0123456789"

	fingerprint := func(t *testing.T) string {
		c := f.with(t).create()
		defer f.with(t).must("copy", "destroy", c.ID)
		checkMasked(t, c.DatabaseURL)
		return mustPsql(t, c.DatabaseURL, "SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM customer c")
	}

	var prints []string
	for _, dump := range []string{custom, plain} {
		t.Run(filepath.Ext(dump), func(t *testing.T) {
			record(t, "masking", "reseed with rules: no raw value in a plain dump of the golden", 1)
			f.with(t).must(key, "reseed", "--dump", dump, "--rules", rules, "--database", "pii")
			prints = append(prints, fingerprint(t))
		})
	}
	if len(prints) == 2 && prints[0] != prints[1] {
		t.Fatalf("the same key masked the custom and the plain dump differently: %v", prints)
	}

	t.Run("another key, other values", func(t *testing.T) {
		f := f.with(t)
		f.must("DITTO_MASK_KEY=another-key-of-32-bytes-987654321", "reseed", "--dump", custom, "--rules", rules, "--database", "pii")
		if p := fingerprint(t); len(prints) > 0 && p == prints[0] {
			t.Fatal("a different key gave the same masked data")
		}
	})

	t.Run("refusals", func(t *testing.T) {
		record(t, "bad input", "rules without key, invalid YAML, rules naming missing columns, a sensitive column left unmasked, dumps with INSERT rows (plain, custom), a unique key broken by masking", 7)
		f := f.with(t)
		before := f.goldenJSON()
		f.fails("DITTO_MASK_KEY", "DITTO_MASK_KEY=", "reseed", "--dump", custom, "--rules", rules)
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte("version: 1\nkey: env:DITTO_MASK_KEY\ntables: [oops\n"), 0o600)
		f.fails("bad.yaml", key, "reseed", "--dump", custom, "--rules", bad)
		missing := filepath.Join(dir, "missing.yaml")
		os.WriteFile(missing, []byte(strings.Replace(piiRules, "    phone: {transform: phone}", "    phone: {transform: phone}\n    nickname: username", 1)), 0o600)
		f.fails("nickname", key, "reseed", "--dump", custom, "--rules", missing)
		unmasked := filepath.Join(dir, "unmasked.yaml")
		os.WriteFile(unmasked, []byte(strings.Replace(piiRules, "    phone: {transform: phone}\n", "", 1)), 0o600)
		r := f.fails("phone", key, "reseed", "--dump", custom, "--rules", unmasked)
		if !strings.Contains(r.stderr, "no data was loaded") {
			t.Fatalf("the refusal should say no data was loaded: %s", r.stderr)
		}
		for _, format := range []string{"p", "c"} {
			inserts := filepath.Join(dir, "inserts."+format)
			if out, err := exec.Command("pg_dump", "--inserts", "-F", format, "-f", inserts, "-d", src.DatabaseURL).CombinedOutput(); err != nil {
				t.Fatalf("pg_dump --inserts: %v %s", err, out)
			}
			f.fails("INSERT statements", key, "reseed", "--dump", inserts, "--rules", rules)
		}
		if got := f.goldenJSON(); got != before {
			t.Fatalf("a refused reseed changed the golden")
		}
		assertTmpEmpty(t, f)
		collide := filepath.Join(dir, "collide.yaml")
		os.WriteFile(collide, []byte(strings.Replace(piiRules, "    email: email\n", "    email: {transform: const, value: \"same@example.com\"}\n", 1)), 0o600)
		r = f.fails("customer_email_key", key, "reseed", "--dump", custom, "--rules", collide)
		if !strings.Contains(r.stderr, "customer") || !strings.Contains(r.stderr, "email") {
			t.Fatalf("a unique key broken by masking should name the table and column: %s", r.stderr)
		}
		f.must(key, "reseed", "--dump", custom, "--rules", unmasked, "--allow-unmasked", "--database", "pii")
	})

	t.Run("sanitized dump", func(t *testing.T) {
		record(t, "masking", "DITTO_DUMP_PATH with rules and a source URL keeps only the masked dump", 1)
		f := f.with(t)
		out := filepath.Join(dir, "sanitized.dump")
		f.must(key, "DITTO_DUMP_PATH="+out, "reseed", "--source-url", strings.Replace(src.DatabaseURL, "/sample?", "/sample?", 1), "--rules", rules)
		text, err := exec.Command("pg_restore", "-f", "-", out).Output()
		if err != nil {
			t.Fatalf("the kept dump does not restore: %v", err)
		}
		for _, raw := range rawValues {
			if strings.Contains(string(text), raw) {
				t.Fatalf("the kept dump holds the raw value %q", raw)
			}
		}
		f.must("reseed", "--dump", out) // a laptop reseeds from it without rules
		c := f.create()
		checkMasked(t, c.DatabaseURL)
		f.must("copy", "destroy", c.ID)
	})
	f.must("copy", "destroy", src.ID)
}

// checkMasked scans a plain dump of the copy for raw values and checks that
// constraints hold and joins on masked columns still match.
func checkMasked(t *testing.T, url string) {
	t.Helper()
	out, err := exec.Command("pg_dump", "-d", url).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range rawValues {
		if strings.Contains(string(out), raw) {
			t.Fatalf("the masked golden still holds %q", raw)
		}
	}
	checks := map[string]string{
		"SELECT count(*) FROM orders o JOIN customer c ON c.email = o.customer_email":                              "200",
		"SELECT count(DISTINCT email) FROM customer":                                                               "50",
		"SELECT count(*) FROM customer WHERE notes IS NULL":                                                        "16",
		"SELECT count(*) FROM audit_log":                                                                           "0",
		"SELECT count(*) FROM customer WHERE active":                                                               "25",
		"SELECT count(*) > 5 FROM customer WHERE birth_date = date '1980-01-01' + id":                              "f",
		"SELECT count(*) FROM customer WHERE profile->'contact'->>'email' = email":                                 "50",
		"SELECT count(*) FROM pg_constraint WHERE conname IN ('customer_email_key', 'orders_customer_email_fkey')": "2",
	}
	for q, want := range checks {
		if got := mustPsql(t, url, q); got != want {
			t.Fatalf("%s = %s, want %s", q, got, want)
		}
	}
}
