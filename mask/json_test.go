package mask

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	tr := testTransformer(t, `{transform: json,
    set: {plan: "free", "meta.flags": [1, 2]},
    delete: [ssn, "cards.*.number", "list.1"],
    mask: {email: email, "contacts.*.phone": {transform: phone}, age: int_noise, "meta.tag": null, nested: hash}}`, testKey)
	in := `{"email":"a@corp.com","ssn":"123","plan":"gold","age":40,
	  "cards":[{"number":"4111","exp":"01/30"}],"list":[1,2,3],
	  "contacts":[{"phone":"+1 415"},{"phone":null}],"meta":{"tag":"x","flags":[]},
	  "nested":{"a":[1]},"html":"<b>&</b>"}`
	got := mask1(t, tr, in)
	var doc map[string]any
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	email := mask1(t, testTransformer(t, "email", testKey), "a@corp.com")
	want := map[string]any{
		"email": email, "plan": "free", "cards": []any{map[string]any{"exp": "01/30"}},
		"list": []any{1.0, 3.0}, "meta": map[string]any{"tag": nil, "flags": []any{1.0, 2.0}},
		"nested": mask1(t, testTransformer(t, "hash", testKey), `{"a":[1]}`), "html": "<b>&</b>",
	}
	for k, v := range want {
		if !reflect.DeepEqual(doc[k], v) {
			t.Errorf("%s = %#v, want %#v", k, doc[k], v)
		}
	}
	if _, ok := doc["ssn"]; ok {
		t.Error("ssn not deleted")
	}
	if age, ok := doc["age"].(float64); !ok || age < 36 || age > 44 {
		t.Errorf("age = %#v, want a number near 40", doc["age"])
	}
	contacts := doc["contacts"].([]any)
	if p := contacts[0].(map[string]any)["phone"].(string); len(p) != 12 || contacts[1].(map[string]any)["phone"] != nil {
		t.Errorf("contacts = %v", contacts)
	}
}

func TestJSONAbsentPathsStayAbsent(t *testing.T) {
	tr := testTransformer(t, "{transform: json, set: {a.b: 1}, mask: {c: email}, delete: [d]}", testKey)
	for _, v := range []string{`{}`, `[]`, `{"x":"y"}`, `[{"x":1}, []]`, `{"a":null,"c":null}`, `null`} {
		var got, want any
		_ = json.Unmarshal([]byte(mask1(t, tr, v)), &got)
		_ = json.Unmarshal([]byte(v), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s -> %v", v, got)
		}
	}
	for _, v := range []string{`{`, `{} {}`, `nope`} {
		if _, _, err := tr.Mask(nil, []byte(v)); err != errNotJSON {
			t.Errorf("%q: %v", v, err)
		}
	}
}

// TestJSONShapes: a document shaped otherwise than the rule's path expects
// never passes a value through unmasked. What stands where the path expects
// an object is masked (set, deleted) whole; arrays take the path in each
// element.
func TestJSONShapes(t *testing.T) {
	masked := mask1(t, testTransformer(t, "email", testKey), "x@realmail.example")
	maskedNum := mask1(t, testTransformer(t, "email", testKey), "4155550100")
	maskedObj := mask1(t, testTransformer(t, "email", testKey), `{"home":"x@realmail.example"}`)
	cases := []struct{ spec, in, want string }{
		{"mask: {contact.email: email}", `{"contact":"x@realmail.example"}`, `{"contact":"` + masked + `"}`},
		{"mask: {contact.email: email}", `{"contact":4155550100}`, `{"contact":"` + maskedNum + `"}`},
		{"mask: {contact.email: email}", `{"contact":[{"email":"x@realmail.example","tier":"gold"},{"tier":"free"}]}`,
			`{"contact":[{"email":"` + masked + `","tier":"gold"},{"tier":"free"}]}`},
		{"mask: {contact.email: email}", `{"contact":["x@realmail.example",null]}`, `{"contact":["` + masked + `",null]}`},
		{"mask: {contact.email: email}", `{"contact":[[{"email":"x@realmail.example"}]]}`, `{"contact":[[{"email":"` + masked + `"}]]}`},
		{"mask: {contact.email: email}", `{"contact":{"email":{"home":"x@realmail.example"}}}`, `{"contact":{"email":"` + maskedObj + `"}}`},
		{"mask: {contact.email: email}", `"x@realmail.example"`, `"` + masked + `"`},
		{"mask: {contact.email: email}", `[{"contact":{"email":"x@realmail.example"}}]`, `[{"contact":{"email":"` + masked + `"}}]`},
		{"mask: {contact.email: email}", `{"contact":null}`, `{"contact":null}`},
		{"mask: {contact.email: email}", `null`, `null`},
		{"mask: {items.0.email: email}", `{"items":[{"email":"x@realmail.example"},{"email":"kept"}]}`, `{"items":[{"email":"` + masked + `"},{"email":"kept"}]}`},
		{"mask: {items.*.email: email}", `{"items":"x@realmail.example"}`, `{"items":"` + masked + `"}`},
		{"set: {contact.email: hidden}", `{"contact":"x@realmail.example"}`, `{"contact":"hidden"}`},
		{"delete: [contact.email]", `{"contact":"x@realmail.example","id":1}`, `{"id":1}`},
		{"delete: [contact.email]", `{"contact":["x@realmail.example",{"email":"x@realmail.example","id":2}]}`, `{"contact":[{"id":2}]}`},
		{"delete: [contact.email]", `"x@realmail.example"`, `null`},
	}
	for _, c := range cases {
		tr := testTransformer(t, "{transform: json, "+c.spec+"}", testKey)
		got := mask1(t, tr, c.in)
		if strings.Contains(got, "realmail") || !jsonEqual(got, c.want) {
			t.Errorf("%s on %s:\n got %s\nwant %s", c.spec, c.in, got, c.want)
		}
	}
	// not JSON at all: an error, never the value
	tr := testTransformer(t, "{transform: json, mask: {contact.email: email}}", testKey)
	if out, _, err := tr.Mask(nil, []byte(`{"contact":"x@realmail.example"`)); err != errNotJSON || len(out) != 0 {
		t.Errorf("invalid JSON: %q, %v", out, err)
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
