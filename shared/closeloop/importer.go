package closeloop

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ImportedResponse is one past answer brought in from another tool: it
// lands as an answered survey, counted in the metrics of its day.
type ImportedResponse struct {
	Origin  string    `json:"origin"` // "delighted" or "csv"
	ID      string    `json:"id"`     // the record's id in its origin: importing it again changes nothing
	Email   string    `json:"email"`
	Name    string    `json:"name,omitempty"`
	Kind    Kind      `json:"kind"`
	Score   int       `json:"score"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
	// Day is the answer's date when its source gave no time of day
	// (YYYY-MM-DD): the API places it on that day in the team's zone
	// (PlaceDay), At holding its midnight UTC for older servers.
	Day        string            `json:"day,omitempty"`
	Themes     []string          `json:"themes,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// ImportOrigins are where imported responses come from; each is the source
// of the responses it brought in.
var ImportOrigins = []string{"csv", "delighted"}

// ImportedSuppression is one address another tool must not mail any more:
// an unsubscribe or a bounce.
type ImportedSuppression struct {
	Email  string `json:"email"`
	Reason string `json:"reason"` // "unsubscribed" or "bounce"
}

// Skipped is one record an import left out, and why.
type Skipped struct {
	Record string `json:"record"` // the record's id, or its line
	Reason string `json:"reason"`
}

// ImportReport is what an import did.
type ImportReport struct {
	Imported     int       `json:"imported"`     // responses stored now
	Already      int       `json:"already"`      // responses stored by an earlier import
	Suppressions int       `json:"suppressions"` // unsubscribes and bounces recorded
	Skipped      []Skipped `json:"skipped"`      // every record left out, with its reason
}

// Add adds o to r.
func (r *ImportReport) Add(o ImportReport) {
	r.Imported += o.Imported
	r.Already += o.Already
	r.Suppressions += o.Suppressions
	r.Skipped = append(r.Skipped, o.Skipped...)
}

// SurveyID is the survey an imported response lands on: the same for the
// same record, so a second import finds it there.
func (r ImportedResponse) SurveyID() string {
	sum := sha256.Sum256([]byte("import:" + r.Origin + ":" + r.ID))
	return hex.EncodeToString(sum[:16])
}

// Validate checks r and normalises its address, themes and comment. Its
// error wraps ErrInvalid and says what is wrong.
func (r *ImportedResponse) Validate(now time.Time) error {
	if r.ID == "" || len(r.ID) > 128 {
		return Errorf(ErrInvalid, "id must be 1 to 128 bytes")
	}
	addr, err := NormalizeEmail(r.Email)
	if err != nil {
		return Errorf(ErrInvalid, "email: %v", err)
	}
	r.Email = addr
	if len(r.Name) > MaxName {
		r.Name = strings.ToValidUTF8(r.Name[:MaxName], "")
	}
	lo, hi := r.Kind.Scale()
	if _, err := ParseKind(string(r.Kind)); err != nil {
		return err
	}
	if r.Score < lo || r.Score > hi {
		return Errorf(ErrInvalid, "score %d is outside %s's %d to %d", r.Score, r.Kind, lo, hi)
	}
	if r.At.IsZero() || r.At.After(now.Add(MaxClockAhead)) || r.At.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		return Errorf(ErrInvalid, "date %v is not a past date after 2000", r.At)
	}
	r.Comment = cutRunes(strings.ToValidUTF8(r.Comment, "\uFFFD"), MaxComment)
	var themes []string
	for _, t := range r.Themes {
		if name := ThemeNameOf(t); name != "" && len(themes) < 10 {
			themes = append(themes, name)
		}
	}
	r.Themes = UniqueThemes(themes) // "Exports;exports" is one theme
	if len(r.Properties) > 50 {
		return Errorf(ErrInvalid, "at most 50 properties")
	}
	for k, v := range r.Properties {
		if len(k) > 128 || len(v) > 1024 {
			return Errorf(ErrInvalid, "property %.40q is longer than 128 bytes, or its value than 1024", k)
		}
	}
	return nil
}

// ThemeNameOf turns a tag from another tool into a theme name ("Slow
// Exports!" → "slow-exports"), or "" when nothing is left of it.
func ThemeNameOf(tag string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(strings.TrimSpace(tag)) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
		default:
			dash = true
		}
		if b.Len() >= 64 {
			break
		}
	}
	name := strings.TrimLeft(b.String(), "_")
	if len(name) > 64 {
		name = strings.TrimRight(name[:64], "-")
	}
	return name
}

// Delighted's API v1 shapes, as its export files hold them.
type (
	delightedPerson struct {
		ID    json.Number `json:"id"`
		Email string      `json:"email"`
		Name  string      `json:"name"`
	}
	delightedResponse struct {
		ID               json.Number       `json:"id"`
		Person           json.RawMessage   `json:"person"` // an id, or the person with expand[]=person
		SurveyType       string            `json:"survey_type"`
		Score            *int              `json:"score"`
		Comment          string            `json:"comment"`
		CreatedAt        int64             `json:"created_at"`
		Tags             []string          `json:"tags"`
		PersonProperties map[string]any    `json:"person_properties"`
		Notes            []json.RawMessage `json:"notes"`
	}
	delightedSuppression struct {
		PersonID json.Number `json:"person_id"`
		Email    string      `json:"email"`
	}
)

// DelightedKind maps Delighted's survey types onto Closeloop's kinds. Types
// without a match (smileys, thumbs, pmf, enps) are skipped with a reason.
var DelightedKind = map[string]Kind{"nps": NPS, "csat": CSAT, "5star": CSAT, "ces": CES}

// ParseDelighted reads Delighted API v1 JSON: survey responses (fetched with
// expand[]=person, or with people to find each person's address) and
// returns the responses to import and the records it left out, with why.
func ParseDelighted(responses, people []byte, now time.Time) ([]ImportedResponse, []Skipped, error) {
	var rs []delightedResponse
	if err := json.Unmarshal(responses, &rs); err != nil {
		return nil, nil, Errorf(ErrInvalid, "survey_responses: not Delighted's JSON array of survey responses: %v", err)
	}
	byID := map[string]delightedPerson{}
	if len(people) > 0 {
		var ps []delightedPerson
		if err := json.Unmarshal(people, &ps); err != nil {
			return nil, nil, Errorf(ErrInvalid, "people: not Delighted's JSON array of people: %v", err)
		}
		for _, p := range ps {
			byID[p.ID.String()] = p
		}
	}
	var out []ImportedResponse
	var skipped []Skipped
	for i, r := range rs {
		id := r.ID.String()
		if id == "" {
			id = fmt.Sprintf("#%d", i+1)
		}
		skip := func(why string, a ...any) {
			skipped = append(skipped, Skipped{Record: "delighted response " + id, Reason: fmt.Sprintf(why, a...)})
		}
		var p delightedPerson
		if json.Unmarshal(r.Person, &p) != nil {
			var pid json.Number
			if json.Unmarshal(r.Person, &pid) == nil {
				p = byID[pid.String()]
			}
		}
		if q, ok := byID[p.ID.String()]; ok && p.Email == "" {
			p = q
		}
		kind, ok := DelightedKind[r.SurveyType]
		switch {
		case p.Email == "":
			skip("no email for its person (fetch with expand[]=person, or add people.json)")
			continue
		case !ok:
			skip("survey type %q has no Closeloop kind", r.SurveyType)
			continue
		case r.Score == nil:
			skip("no score")
			continue
		}
		ir := ImportedResponse{Origin: "delighted", ID: r.ID.String(), Email: p.Email, Name: p.Name, Kind: kind, Score: *r.Score,
			Comment: r.Comment, At: time.Unix(r.CreatedAt, 0).UTC(), Themes: r.Tags}
		for k, v := range r.PersonProperties {
			if ir.Properties == nil {
				ir.Properties = map[string]string{}
			}
			ir.Properties[k] = fmt.Sprint(v)
		}
		if err := ir.Validate(now); err != nil {
			skip("%s", err.Error())
			continue
		}
		out = append(out, ir)
	}
	return out, skipped, nil
}

// ParseDelightedSuppressions reads Delighted's unsubscribes.json or
// bounces.json as suppressions for reason.
func ParseDelightedSuppressions(data []byte, reason string) ([]ImportedSuppression, []Skipped, error) {
	var rs []delightedSuppression
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, nil, Errorf(ErrInvalid, "%s: not Delighted's JSON array: %v", reason, err)
	}
	var out []ImportedSuppression
	var skipped []Skipped
	for i, r := range rs {
		addr, err := NormalizeEmail(r.Email)
		if err != nil {
			skipped = append(skipped, Skipped{Record: fmt.Sprintf("delighted %s #%d", reason, i+1), Reason: "email: " + err.Error()})
			continue
		}
		out = append(out, ImportedSuppression{Email: addr, Reason: reason})
	}
	return out, skipped, nil
}

// CSVColumns are the columns of the generic CSV import, in any order:
// email, kind and score are required, the others optional. tags are
// separated by ";" and become themes.
var CSVColumns = []string{"id", "email", "name", "kind", "score", "comment", "date", "tags"}

// ParseCSV reads the generic CSV of past answers (a header naming
// CSVColumns, then one answer a line). A record without an id gets one from
// its email, kind and date, so importing the same file again changes
// nothing. Dates are RFC 3339 or YYYY-MM-DD.
func ParseCSV(r io.Reader, now time.Time) ([]ImportedResponse, []Skipped, error) {
	var out []ImportedResponse
	skipped, err := readCSV(r, []string{"email", "kind", "score"}, strings.Join(CSVColumns, ", "), func(where string, get func(string) string) string {
		score, err := strconv.Atoi(get("score"))
		if err != nil {
			return fmt.Sprintf("score %q is not a whole number", get("score"))
		}
		kind, err := ParseKind(strings.ToLower(get("kind")))
		if err != nil {
			return fmt.Sprintf("kind %q: want csat, nps or ces", get("kind"))
		}
		at, day := now, ""
		if d := get("date"); d != "" {
			var ok bool
			if at, ok = parseDate(d); !ok {
				return fmt.Sprintf("date %q: want RFC 3339 or YYYY-MM-DD", d)
			}
			if _, err := time.Parse(time.DateOnly, d); err == nil {
				day = d
			}
		}
		ir := ImportedResponse{Origin: "csv", ID: get("id"), Email: get("email"), Name: get("name"), Kind: kind, Score: score,
			Comment: get("comment"), At: at.UTC(), Day: day}
		if t := get("tags"); t != "" {
			ir.Themes = strings.Split(t, ";")
		}
		if ir.ID == "" {
			sum := sha256.Sum256([]byte(strings.ToLower(ir.Email) + "|" + string(kind) + "|" + at.UTC().Format(time.RFC3339) + "|" + strconv.Itoa(score)))
			ir.ID = hex.EncodeToString(sum[:12])
		}
		if err := ir.Validate(now); err != nil {
			return err.Error()
		}
		out = append(out, ir)
		return ""
	})
	return out, skipped, err
}

// readCSV reads a CSV whose header names its columns (in any order and
// case, a byte-order mark allowed) and must name every one of need; columns
// lists them all for the error. It calls each for every record with where
// it is ("line N") and a getter of trimmed cells; a reason each returns, or
// a record that is not CSV, is a skipped record.
func readCSV(r io.Reader, need []string, columns string, each func(where string, get func(string) string) string) ([]Skipped, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, Errorf(ErrInvalid, "no CSV header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))] = i
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, Errorf(ErrInvalid, "the header has no %q column (columns: %s)", n, columns)
		}
	}
	var skipped []Skipped
	for line := 2; len(skipped) <= 100000; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		where := fmt.Sprintf("line %d", line)
		if err != nil {
			skipped = append(skipped, Skipped{Record: where, Reason: "not CSV: " + err.Error()})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if why := each(where, get); why != "" {
			skipped = append(skipped, Skipped{Record: where, Reason: why})
		}
	}
	return skipped, nil
}

// PlaceDay puts a response given by its day only at noon of that day in
// loc, the team's zone (or now, when that is later than now), so it counts
// on its own day in every report; an error wraps ErrInvalid.
func (r *ImportedResponse) PlaceDay(loc *time.Location, now time.Time) error {
	if r.Day == "" {
		return nil
	}
	d, err := time.Parse(time.DateOnly, r.Day)
	if err != nil {
		return Errorf(ErrInvalid, "day %q: want YYYY-MM-DD", r.Day)
	}
	if loc == nil {
		loc = time.UTC
	}
	r.At = time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, loc)
	if r.At.After(now) {
		r.At = now
	}
	return nil
}

// parseDate reads an RFC 3339 time or a YYYY-MM-DD date.
func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}
