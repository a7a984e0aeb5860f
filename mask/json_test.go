package mask

import (
	"encoding/json"
	"reflect"
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
	for _, v := range []string{`{}`, `[]`, `"text"`, `42`, `{"a":"scalar"}`} {
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
