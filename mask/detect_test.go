package mask

import (
	"strings"
	"testing"
)

func TestSensitiveName(t *testing.T) {
	yes := map[string]string{
		"email": "email", "EmailAddress": "email", "user_e_mail": "mail", "contact_mail": "mail",
		"phone": "phone", "mobileNumber": "mobile", "home_tel": "tel", "fax": "fax",
		"first_name": "firstname", "FirstName": "firstname", "lastname": "lastname", "full_name": "fullname",
		"surname": "surname", "billing_address": "address", "street1": "street", "zip": "zip",
		"zip_code": "zip", "postalCode": "postal", "city": "city", "birth_date": "birth", "dob": "dob",
		"ssn": "ssn", "passport_no": "passport", "iban": "iban", "account_number": "accountnumber",
		"card_last4": "card", "credit_card": "card", "client_ip": "ip", "IPAddress": "ip", "last_login_ip4": "ip",
		"password_hash": "password", "api_token": "token", "client_secret": "secret", "salary": "salary",
		"latitude": "latitude", "username": "username",
	}
	for name, want := range yes {
		if got, ok := SensitiveName(name); !ok || got != want {
			t.Errorf("SensitiveName(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"id", "description", "shipping_method", "capacity", "zipped", "created_at",
		"tip", "status", "name", "product_name", "amount", "is_active", "recipe", "membership", "businessname"} {
		if got, ok := SensitiveName(name); ok {
			t.Errorf("SensitiveName(%q) = %q; want no match", name, got)
		}
	}
}

func TestNameWords(t *testing.T) {
	cases := map[string]string{
		"billingAddress_ZIP": "billing address zip", "IPAddress": "ip address", "ip4": "ip",
		"user-name": "user name", "HTTPServerURL": "http server url", "already_lower": "already lower",
	}
	for in, want := range cases {
		if got := strings.Join(nameWords(in), " "); got != want {
			t.Errorf("nameWords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSensitiveValues(t *testing.T) {
	yes := map[string][]string{
		"email addresses":           {"call me", "", "reach me at jane.doe+x@mail.example.org please"},
		"phone numbers":             {"+14155550100", "(415) 555-0100", "030 1234567", "n/a"},
		"card numbers (Luhn-valid)": {"4111 1111 1111 1111", "paid with 5500-0000-0000-0004", "4012888888881881"},
	}
	for want, values := range yes {
		if got, ok := SensitiveValues(values); !ok || got != want {
			t.Errorf("SensitiveValues(%q) = %q, %v; want %q", values, got, ok, want)
		}
	}
	no := [][]string{
		nil,
		{"", "  "},
		{"2024-01-31", "2023-12-01", "1999-01-01"},        // dates
		{"10.0.0.1", "192.168.1.20"},                      // addresses
		{"1234567.89", "99.5"},                            // decimals
		{"12345678", "98765432", "1234567890"},            // bare numbers are ids
		{"4111111111111112", "1234567812345678", "hello"}, // card-shaped, not Luhn-valid
		{"hello world", "user@localhost", "a @ b", "x@y"}, // no real email
	}
	for _, values := range no {
		if got, ok := SensitiveValues(values); ok {
			t.Errorf("SensitiveValues(%q) = %q; want nothing", values, got)
		}
	}
}

func TestLuhn(t *testing.T) {
	for _, n := range []string{"4111111111111111", "5500000000000004", "340000000000009", "6011000000000004"} {
		if !luhnValid(n) {
			t.Errorf("%s is Luhn-valid", n)
		}
	}
	for _, n := range []string{"4111111111111112", "1234567812345678"} {
		if luhnValid(n) {
			t.Errorf("%s is not Luhn-valid", n)
		}
	}
}

func TestUnmasked(t *testing.T) {
	s := &Schema{Tables: []Table{
		{Schema: "public", Name: "customer", Columns: []Column{
			{Name: "id", Type: "integer"}, {Name: "email", Type: "text"}, {Name: "phone", Type: "text"},
			{Name: "active", Type: "boolean"}, {Name: "memo", Type: "text"}, {Name: "ref", Type: "text"},
			{Name: "first_name", Type: "text"},
		}},
		{Schema: "public", Name: "audit_log", Columns: []Column{{Name: "ip", Type: "inet"}}},
	}}
	r := testRules(t, `version: 1
key: env:K
tables:
  public.customer: {email: email}
  public.audit_log: {rows: none}
keep: [public.customer.first_name]
`)
	samples := Samples{
		"public.customer.memo":   {"ok", "mail bob@corp.com"},
		"public.customer.ref":    {"A-1", "B-2"},
		"public.customer.active": {"t"},
	}
	if all := Unmasked(nil, s, nil); len(all) != 4 { // email, phone, first_name, audit_log.ip
		t.Errorf("without rules: %v", all)
	}
	if ps := Validate(nil, s); len(ps) != 0 {
		t.Errorf("without rules: %v", ps)
	}
	got := Unmasked(r, s, samples)
	want := []string{
		`public.customer.memo: unmasked: looks sensitive (sampled values contain email addresses) but has no rule; add one under tables: public.customer, or list public.customer.memo under keep`,
		`public.customer.phone: unmasked: looks sensitive (its name matches "phone") but has no rule; add one under tables: public.customer, or list public.customer.phone under keep`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("got  %s\nwant %s", got[i], want[i])
		}
	}
}

// Keys named after what they point to are not personal data; the text
// columns with the same words are.
func TestUnmaskedSkipsKeys(t *testing.T) {
	s := &Schema{Tables: []Table{{Schema: "public", Name: "customer", Columns: []Column{
		{Name: "address_id", Type: "smallint", References: "public.address.address_id"},
		{Name: "city_id", Type: "integer"},
		{Name: "addressId", Type: "uuid"},
		{Name: "address", Type: "text"},
		{Name: "phone", Type: "bigint"},
		{Name: "email_id", Type: "text"},
	}}}}
	var flagged []string
	for _, p := range Unmasked(nil, s, nil) {
		flagged = append(flagged, p.Column)
	}
	if strings.Join(flagged, " ") != "address email_id phone" {
		t.Fatalf("flagged %v; want the text address, the bigint phone and the text email_id only", flagged)
	}
}
