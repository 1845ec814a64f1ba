package closeloop

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseCSV: any bytes as the generic CSV import never panic; a file
// that cannot be read is an ErrInvalid with a reason; every response it
// returns validates, and importing it again gives the same ids.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"email,kind,score,comment,date,tags\nada@example.com,csat,5,Lovely,2025-09-01,billing;Speed\n",
		"id,email,kind,score\n1,ada@example.com,nps,11\n2,\"a b\"@example.com,nps,3\n",
		"email,kind\nx@y.z,csat\n", "\uFEFFEMAIL,KIND,SCORE\nA@B.C,CES,7\n", "", "\"", "email,kind,score\n\"unterminated",
	} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, data string) {
		rs, skipped, err := ParseCSV(strings.NewReader(data), now)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || err.Error() == "" {
				t.Fatalf("error %v does not wrap ErrInvalid with a reason", err)
			}
			return
		}
		for _, s := range skipped {
			if s.Reason == "" || s.Record == "" {
				t.Fatalf("a skipped record without a reason: %+v", s)
			}
		}
		again, _, _ := ParseCSV(strings.NewReader(data), now)
		for i, r := range rs {
			c := r
			if err := c.Validate(now); err != nil {
				t.Fatalf("returned a record that does not validate: %v", err)
			}
			if again[i].SurveyID() != r.SurveyID() {
				t.Fatalf("the same file gives other ids")
			}
		}
	})
}

// FuzzParseDelighted: any bytes as Delighted's survey responses and people
// never panic; an error wraps ErrInvalid; every response returned validates.
func FuzzParseDelighted(f *testing.F) {
	for _, name := range []string{"survey_responses", "people"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "cmd", "closeloop", "testdata", "delighted", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("[]"))
		f.Add([]byte(`[{"id":1,"person":93,"survey_type":"nps","score":9,"created_at":1759665600}]`), b)
	}
	f.Add([]byte(`[{"person":{"email":"x@y.z"},"survey_type":"csat","score":null}]`), []byte(`{}`))
	f.Add([]byte(`[{"id":"1","person":"nope","survey_type":"ces","score":8,"created_at":-1}]`), []byte(``))
	now := time.Now()
	f.Fuzz(func(t *testing.T, responses, people []byte) {
		rs, skipped, err := ParseDelighted(responses, people, now)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, s := range skipped {
			if s.Reason == "" {
				t.Fatalf("a skipped record without a reason: %+v", s)
			}
		}
		for _, r := range rs {
			if err := r.Validate(now); err != nil {
				t.Fatalf("returned a record that does not validate: %v", err)
			}
		}
		if _, _, err := ParseDelightedSuppressions(responses, "bounce"); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("suppressions: %v", err)
		}
	})
}
