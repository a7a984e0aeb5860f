package mask

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Samples holds sampled values (non-NULL, as text) by
// "schema.table.column", from `ditto mask check --sample N`.
type Samples map[string][]string

// Unmasked reports the columns that look sensitive and have neither a rule
// nor a keep entry. Tables whose rows are dropped are covered whole.
func Unmasked(r *Rules, s *Schema, samples Samples) []Problem {
	r = orEmpty(r)
	var out []Problem
	for ti := range s.Tables {
		t := &s.Tables[ti]
		name := t.FullName()
		if tr := r.Table(name); tr != nil && tr.DropRows {
			continue
		}
		for _, col := range t.Columns {
			ref := name + "." + col.Name
			if _, kept := r.Keep[ref]; kept || r.column(name, col.Name) != nil {
				continue
			}
			why := ""
			if p, ok := SensitiveName(col.Name); ok && !isKey(col) {
				why = fmt.Sprintf("its name matches %q", p)
			} else if what, ok := SensitiveValues(samples[ref]); ok {
				why = fmt.Sprintf("sampled values contain %s", what)
			} else {
				continue
			}
			out = append(out, Problem{Kind: ProblemUnmasked, Table: name, Column: col.Name,
				Message: fmt.Sprintf("looks sensitive (%s) but has no rule; add one under tables: %s, or list %s under keep", why, name, ref)})
		}
	}
	return sortProblems(out)
}

// isKey reports whether a column is a number or UUID that identifies a row
// (a key, a reference, or named ..._id): address_id or city_id name what
// they point to, not personal data. A bigint phone column stays suspect.
func isKey(c Column) bool {
	switch strings.TrimSuffix(c.Type, "[]") {
	case "smallint", "integer", "bigint", "uuid", "oid":
	default:
		return false
	}
	words := nameWords(c.Name)
	return c.Unique || c.References != "" || len(words) > 1 && words[len(words)-1] == "id"
}

// Name patterns. A word pattern matches whole words of the name
// ("client_ip", "ipAddress", not "description"); a part pattern matches
// anywhere in the name with the word breaks removed ("useremail",
// "first_name", "passwordHash").
var (
	sensitiveWords = []string{
		"mail", "phone", "tel", "fax", "cell", "ip", "ipaddr", "ipv4", "ipv6", "mac",
		"zip", "city", "town", "dob", "ssn", "iban", "bic", "swift", "card", "cvv", "cvc",
		"pin", "pwd", "pass", "otp", "salt", "lat", "lng", "lon", "gender", "sex", "income", "wage",
	}
	sensitiveParts = []string{
		"email", "phone", "mobile", "firstname", "lastname", "fullname", "middlename", "maidenname",
		"givenname", "familyname", "surname", "nickname", "displayname", "username", "contactname",
		"address", "street", "postal", "postcode", "zipcode", "birth", "passport", "socialsecurity",
		"nationalid", "taxid", "driverslicense", "driverlicense", "licensenumber", "accountnumber",
		"accountno", "routingnumber", "creditcard", "cardnumber", "cardholder", "password", "passwd",
		"secret", "token", "apikey", "privatekey", "accesskey", "credential", "salary", "latitude",
		"longitude", "geolocation", "ethnicity", "religion", "diagnosis", "medical",
	}
)

// SensitiveName reports whether a column name looks like it holds personal
// data or secrets, and which pattern it matched.
func SensitiveName(column string) (pattern string, ok bool) {
	words := nameWords(column)
	for _, w := range words {
		for _, p := range sensitiveWords {
			if w == p {
				return p, true
			}
		}
	}
	joined := strings.Join(words, "")
	for _, p := range sensitiveParts {
		if strings.Contains(joined, p) {
			return p, true
		}
	}
	return "", false
}

// nameWords splits snake_case, kebab-case and camelCase into lowercase
// words: "billingAddress_ZIP" -> billing, address, zip.
func nameWords(s string) []string {
	var words []string
	var cur []rune
	rs := []rune(s)
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, c := range rs {
		switch {
		case !unicode.IsLetter(c):
			flush() // digits and punctuation separate words: "ip4", "address_2"
		case unicode.IsUpper(c) && i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])):
			flush()
			cur = append(cur, c)
		default:
			cur = append(cur, c)
		}
	}
	flush()
	return words
}

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	phoneRe = regexp.MustCompile(`^\+?[0-9][0-9 ().\-/]{5,22}[0-9]$`)
	// Dates, dotted IPv4 addresses and decimals are not phone numbers.
	notPhoneRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}|^[0-9]{1,3}(\.[0-9]{1,3}){3}$|^[0-9]+\.[0-9]+$`)
	cardRe     = regexp.MustCompile(`(^|[^0-9])([0-9][0-9 \-]{11,22}[0-9])($|[^0-9])`)
)

// SensitiveValues reports whether sampled values hold personal data: any
// email address, even inside free text; mostly phone numbers; or card
// numbers that pass the Luhn check (random 16-digit ids pass one time in
// ten, so most candidates must).
func SensitiveValues(values []string) (what string, ok bool) {
	var nonEmpty, phones, cards, luhn int
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		nonEmpty++
		if emailRe.MatchString(v) {
			return "email addresses", true
		}
		if looksLikePhone(v) {
			phones++
		}
		for _, m := range cardRe.FindAllStringSubmatch(v, -1) {
			if d := onlyDigits(m[2]); len(d) >= 13 && len(d) <= 19 {
				cards++
				if luhnValid(d) {
					luhn++
				}
			}
		}
	}
	switch {
	case cards > 0 && luhn*10 >= cards*8:
		return "card numbers (Luhn-valid)", true
	case nonEmpty > 0 && phones*2 >= nonEmpty:
		return "phone numbers", true
	}
	return "", false
}

// looksLikePhone: 7 to 15 digits written with a leading + or with phone
// punctuation. Bare digit strings are too often ids to count, and dates and
// dotted addresses are excluded.
func looksLikePhone(v string) bool {
	if !phoneRe.MatchString(v) || notPhoneRe.MatchString(v) {
		return false
	}
	d := onlyDigits(v)
	return len(d) >= 7 && len(d) <= 15 && (v[0] == '+' || len(d) < len(v))
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// luhnValid checks the card-number check digit.
func luhnValid(digits string) bool {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
