package closeloop

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada@Example.COM", "ada@example.com"},
		{"  ada@example.com ", "ada@example.com"},
		{"Ada Lovelace <ada@example.com>", ""},
		{"", ""},
		{"not an address", ""},
		{"a@b@c", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRatingsAndScales(t *testing.T) {
	tests := []struct {
		kind      Kind
		ok, bad   []string
		n         int
		detractor []int
		happy     []int
	}{
		{CSAT, []string{"1", "5"}, []string{"0", "6", "x", "", "2.5"}, 5, []int{1, 2}, []int{3, 5}},
		{NPS, []string{"0", "10"}, []string{"-1", "11"}, 11, []int{0, 6}, []int{7, 10}},
		{CES, []string{"1", "7"}, []string{"0", "8"}, 7, []int{1, 3}, []int{4, 7}},
	}
	for _, tt := range tests {
		for _, s := range tt.ok {
			if _, err := tt.kind.ParseRating(s); err != nil {
				t.Errorf("%s %q: %v", tt.kind, s, err)
			}
		}
		for _, s := range tt.bad {
			if _, err := tt.kind.ParseRating(s); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s %q: %v, want invalid", tt.kind, s, err)
			}
		}
		if n := len(tt.kind.Ratings()); n != tt.n {
			t.Errorf("%s: %d ratings", tt.kind, n)
		}
		for _, r := range tt.detractor {
			if !tt.kind.Detractor(r) {
				t.Errorf("%s %d should be a detractor", tt.kind, r)
			}
		}
		for _, r := range tt.happy {
			if tt.kind.Detractor(r) {
				t.Errorf("%s %d is not a detractor", tt.kind, r)
			}
		}
	}
	if _, err := ParseKind("stars"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseKind(stars): %v", err)
	}
}

// TestScores checks the headline figures against hand-computed values.
func TestScores(t *testing.T) {
	var c Counters
	for _, r := range []int{5, 4, 2, 1} { // CSAT: 2 of 4 satisfied = 50%, mean 3
		c = c.Add(RatingCounters(CSAT, r))
	}
	for _, r := range []int{10, 9, 8, 3, 0} { // NPS: 2 promoters, 2 detractors of 5 = 0
		c = c.Add(RatingCounters(NPS, r))
	}
	for _, r := range []int{7, 6} { // CES mean 6.5
		c = c.Add(RatingCounters(CES, r))
	}
	c.SurveysSent, c.Answered = 22, 11 // of the 22 sent in the range, 11 were answered
	s := c.Score()
	check := func(name string, got *float64, want float64) {
		if got == nil || *got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("csat", s.CSAT, 50)
	check("csat_average", s.CSATAverage, 3)
	check("nps", s.NPS, 0)
	check("ces", s.CES, 6.5)
	check("response_rate", s.ResponseRate, 0.5)
	if s.Responses != 11 {
		t.Errorf("responses %d", s.Responses)
	}
	// A day whose answers are to surveys sent earlier: under the old rule
	// (answers that day / sends that day) the rate would be 3.
	if r := (Counters{SurveysSent: 1, Responses: 3, Answered: 0}).Score().ResponseRate; r == nil || *r != 0 {
		t.Errorf("response rate of a day that answered older surveys: %v, want 0", r)
	}
	f := Counters{Solved: 8, Reopened: 2, Repeat7: 1, Repeat30: 3}.Figures()
	for name, got := range map[string]*float64{"reopen": f.ReopenRate, "repeat 7d": f.RepeatContactRate7d, "repeat 30d": f.RepeatContactRate30d} {
		want := map[string]float64{"reopen": 0.25, "repeat 7d": 0.125, "repeat 30d": 0.375}[name]
		if got == nil || *got != want {
			t.Errorf("%s rate %v, want %v", name, got, want)
		}
	}
	if f := (Counters{}).Figures(); f.ReopenRate != nil || f.RepeatContactRate7d != nil {
		t.Errorf("rates without solved tickets must be null: %+v", f)
	}
	empty := Counters{}.Score()
	if empty.CSAT != nil || empty.NPS != nil || empty.ResponseRate != nil {
		t.Errorf("scores without data must be nil: %+v", empty)
	}
	// A revision is the difference of two contributions.
	for _, k := range []Kind{CSAT, NPS, CES} {
		for _, a := range k.Ratings() {
			for _, b := range k.Ratings() {
				if got := RatingCounters(k, a).Add(RatingCounters(k, b).Sub(RatingCounters(k, a))); got != RatingCounters(k, b) {
					t.Fatalf("%s %d→%d: %+v", k, a, b, got)
				}
			}
		}
	}
}

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok, id := NewToken()
		if len(tok) != 43 || strings.ContainsAny(tok, "+/=") || SurveyIDOf(tok) != id || len(id) != 32 {
			t.Fatalf("token %q id %q", tok, id)
		}
		if err := CheckToken(tok); err != nil {
			t.Fatal(err)
		}
		if seen[tok] {
			t.Fatal("repeated token")
		}
		seen[tok] = true
	}
	for _, bad := range []string{"", "short", strings.Repeat("a", 42), strings.Repeat("*", 43)} {
		if err := CheckToken(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("CheckToken(%q): %v", bad, err)
		}
	}
}

func TestCleanComment(t *testing.T) {
	if got := CleanComment("  hi  "); got != "hi" {
		t.Errorf("%q", got)
	}
	// The page's box takes 5,000 characters: a comment in Japanese
	// (3 bytes each) or with emoji (4) is kept whole, not cut to 5,000 bytes.
	for _, ch := range []string{"é", "日", "👍"} {
		whole := strings.Repeat(ch, MaxComment)
		if got := CleanComment(whole); got != whole {
			t.Errorf("%d × %q: kept %d characters, want all", MaxComment, ch, utf8.RuneCountInString(got))
		}
		got := CleanComment(whole + ch + ch)
		if utf8.RuneCountInString(got) != MaxComment || !utf8.ValidString(got) {
			t.Errorf("%d × %q: cut to %d characters, valid %v", MaxComment+2, ch, utf8.RuneCountInString(got), utf8.ValidString(got))
		}
		// An imported comment keeps as many characters as a posted one.
		r := ImportedResponse{ID: "1", Email: "a@example.com", Kind: CSAT, Score: 5, At: time.Now().Add(-time.Hour), Comment: whole + ch}
		if err := r.Validate(time.Now()); err != nil {
			t.Fatal(err)
		}
		if r.Comment != whole {
			t.Errorf("import of %d × %q: kept %d characters, want %d", MaxComment+1, ch, utf8.RuneCountInString(r.Comment), MaxComment)
		}
	}
}

func TestMatchThemes(t *testing.T) {
	themes := []Theme{{Name: "exports", Keywords: []string{"export", "CSV"}}, {Name: "billing", Keywords: []string{"invoice", " "}}, {Name: "empty"}}
	got := MatchThemes("My csv Export failed; invoice wrong", themes)
	if strings.Join(got, ",") != "exports,billing" {
		t.Errorf("%v", got)
	}
	if got := MatchThemes("all good", themes); len(got) != 0 {
		t.Errorf("%v", got)
	}
}

func TestValidation(t *testing.T) {
	if _, err := NewTheme("Bad Name", nil, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad theme name: %v", err)
	}
	if th, err := NewTheme("exports", []string{" export ", ""}, t0); err != nil || len(th.Keywords) != 1 {
		t.Errorf("%+v %v", th, err)
	}
	for _, tt := range [][3]string{{"nope!", "s", "m"}, {"ok", "", "m"}, {"ok", "s", ""}, {"ok", strings.Repeat("s", 201), "m"}} {
		if _, err := NewImprovement(tt[0], tt[1], tt[2], t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewImprovement%v: %v", tt, err)
		}
	}
	ev := solved("e", t0)
	ev.Customer.Email = "nope"
	if err := ev.Validate(t0); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "customer email") {
		t.Errorf("%v", err)
	}
	ev = reopened("e", t0)
	ev.Customer.Email = ""
	if err := ev.Validate(t0); err != nil {
		t.Errorf("a reopen needs no email: %v", err)
	}
}

// TestSourceSettings: per-helpdesk survey kind, delay, check-in and ticket
// link, from CLOSELOOP_SOURCE_<SOURCE>_*; an invalid value names its variable.
func TestSourceSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := LoadConfig(env(map[string]string{
		"CLOSELOOP_SOURCE_ZENDESK_SURVEY_KIND": "nps", "CLOSELOOP_SOURCE_ZENDESK_SURVEY_DELAY": "2h", "CLOSELOOP_SOURCE_ZENDESK_CHECKIN": "off",
		"CLOSELOOP_SOURCE_ZENDESK_TICKET_URL": "https://acme.zendesk.com/agent/tickets/{id}",
	}))
	if err != nil {
		t.Fatal(err)
	}
	p, ci := c.PerSource["zendesk"].Apply(Policy{Delay: c.SurveyDelay, Kind: c.SurveyKind}, c.CheckInDelay)
	if p.Kind != NPS || p.Delay != 2*time.Hour || ci != 0 {
		t.Errorf("zendesk: %+v, check-in %s", p, ci)
	}
	if p, ci := c.PerSource["generic"].Apply(Policy{Delay: c.SurveyDelay, Kind: c.SurveyKind}, c.CheckInDelay); p.Kind != CSAT || p.Delay != time.Hour || ci != c.CheckInDelay {
		t.Errorf("generic keeps the defaults: %+v, %s", p, ci)
	}
	if u := c.TicketURL("zendesk", "12/3"); u != "https://acme.zendesk.com/agent/tickets/12%2F3" {
		t.Errorf("ticket URL %q", u)
	}
	if u := c.TicketURL("generic", "1"); u != "" {
		t.Errorf("a source without a template: %q", u)
	}
	for k, v := range map[string]string{"CLOSELOOP_SOURCE_ZENDESK_SURVEY_KIND": "stars", "CLOSELOOP_SOURCE_FRONT_SURVEY_DELAY": "soon",
		"CLOSELOOP_SOURCE_JIRA_CHECKIN": "maybe", "CLOSELOOP_SOURCE_ZAMMAD_TICKET_URL": "https://z.example/tickets"} {
		if _, err := LoadConfig(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := LoadConfig(env(nil))
	if err != nil || c.SurveyDelay != time.Hour || c.SurveyKind != CSAT || c.FatigueWindow != 7*24*time.Hour || c.BaseURL != DefaultBaseURL || len(c.Secrets) != 0 {
		t.Errorf("defaults %+v %v", c, err)
	}
	// No first admin unless one is named: in AWS a placeholder address
	// anyone could ask a sign-in link for would become the team's admin
	// (closeloop dev names admin@closeloop.localhost itself).
	if c.AdminEmail != "" {
		t.Errorf("default first admin %q, want none", c.AdminEmail)
	}
	c, err = LoadConfig(env(map[string]string{"CLOSELOOP_SURVEY_DELAY": "0s", "CLOSELOOP_SURVEY_KIND": "nps", "CLOSELOOP_SECRET_ZENDESK": "z", "CLOSELOOP_BASE_URL": "https://fb.acme.example/"}))
	if err != nil || c.SurveyDelay != 0 || c.SurveyKind != NPS || c.Secrets["zendesk"] != "z" || c.BaseURL != "https://fb.acme.example" {
		t.Errorf("set %+v %v", c, err)
	}
	for k, v := range map[string]string{"CLOSELOOP_SURVEY_DELAY": "soon", "CLOSELOOP_FATIGUE_WINDOW": "-1h", "CLOSELOOP_SURVEY_KIND": "stars", "CLOSELOOP_BASE_URL": "ftp://x", "CLOSELOOP_ALERT_WEBHOOK_URL": "::", "CLOSELOOP_FROM": "not an address"} {
		if _, err := LoadConfig(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}

func TestFatigue(t *testing.T) {
	c := Contact{LastSurveyAt: t0, LastSurveyID: "generic#1"}
	if c.FatigueOK("generic#2", 24*time.Hour, t0.Add(time.Hour)) {
		t.Error("second survey within the window allowed")
	}
	if !c.FatigueOK("generic#1", 24*time.Hour, t0.Add(time.Hour)) {
		t.Error("a retry of the same survey was throttled")
	}
	if !c.FatigueOK("generic#2", 24*time.Hour, t0.Add(24*time.Hour)) {
		t.Error("after the window, refused")
	}
}

// TestNormalizeEmailTakesOnePlainMailbox: anything but one plain
// local@domain mailbox is refused, so a crafted address can never reach SES
// as two recipients or as someone else.
func TestNormalizeEmailTakesOnePlainMailbox(t *testing.T) {
	for in, want := range map[string]string{
		"Ada@Example.COM":                  "ada@example.com",
		"  ada@example.com ":               "ada@example.com",
		"first.last+tag@sub.example.co.uk": "first.last+tag@sub.example.co.uk",
		"o'brien@example.ie":               "o'brien@example.ie",
		"admin@closeloop.localhost":        "admin@closeloop.localhost",
	} {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		`"ada,eve"@example.com`, `"ada eve"@example.com`, `"victim@example.org"@evil.example`,
		"ada@example.com, eve@example.com", "Ada <ada@example.com>", "<ada@example.com>",
		"ada eve@example.com", "ada@example.com\r\nBcc: eve@example.com", "a@b@c", "ada@[127.0.0.1]",
		"ada@localhost", ".ada@example.com", "ada.@example.com", "a..b@example.com", "ada@-example.com",
		"ada@example..com", strings.Repeat("a", 65) + "@example.com", "ada@" + strings.Repeat("b", 250) + ".com", "",
	} {
		if got, err := NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error", in, got)
		}
	}
}

func TestSenderAddress(t *testing.T) {
	for in, want := range map[string]string{"Acme Support <Support@Acme.example>": "support@acme.example", "support@acme.example": "support@acme.example"} {
		if got, err := SenderAddress(in); err != nil || got != want {
			t.Errorf("SenderAddress(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "Acme <a@b.example>, Eve <e@b.example>", `Acme <"a b"@acme.example>`} {
		if got, err := SenderAddress(in); err == nil {
			t.Errorf("SenderAddress(%q) = %q, want an error", in, got)
		}
	}
}

func TestBrand(t *testing.T) {
	b, err := ParseBrand(" Acme ", "", "")
	if err != nil || b.Name != "Acme" || b.Color != DefaultBrandColor {
		t.Errorf("defaults %+v %v", b, err)
	}
	if c, _ := Contrast(DefaultBrandColor, "#ffffff"); c < MinButtonContrast {
		t.Errorf("the default colour has %.2f:1", c)
	}
	for _, bad := range [][3]string{{"", "#ffff00", ""}, {"", "blue", ""}, {"", "#12345", ""}, {"", "#1d4ed8", "http://acme.example/logo.png"}} {
		if _, err := ParseBrand(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := ParseBrand("Acme", "#B91C1C", "https://acme.example/logo.png"); err != nil {
		t.Errorf("a dark red with a logo: %v", err)
	}
	// Without its "#" a colour is still a colour: the emails and pages get
	// valid CSS ("background:1d4ed8" left every button white on white).
	if b, err := ParseBrand("", "1D4ED8", ""); err != nil || b.Color != "#1d4ed8" {
		t.Errorf("a colour without #: %q, %v; want #1d4ed8", b.Color, err)
	}
	if _, err := LoadConfig(func(k string) string {
		return map[string]string{"CLOSELOOP_BRAND_COLOR": "#fde68a"}[k]
	}); err == nil || !strings.Contains(err.Error(), "contrast") {
		t.Errorf("a pale brand colour: %v", err)
	}
}

// TestDigestComplaintsFollowTheDetractorRule: a theme's complaints are its
// answers each kind counts as a detractor's (CSAT 1-2, NPS 0-6, CES 1-3),
// CES included; a CSAT 3 is none.
func TestDigestComplaintsFollowTheDetractorRule(t *testing.T) {
	sum := func(cs ...Counters) Counters {
		var out Counters
		for _, c := range cs {
			out = out.Add(c)
		}
		return out
	}
	themes := map[string]Counters{
		"exports": sum(RatingCounters(CES, 1), RatingCounters(CES, 2), RatingCounters(CES, 6)),
		"billing": sum(RatingCounters(CSAT, 3)),
		"refunds": sum(RatingCounters(NPS, 4), RatingCounters(CSAT, 1)),
	}
	d := NewDigest(time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), Counters{}, Counters{}, themes, 0)
	got := map[string]int64{}
	for _, c := range d.Complaints {
		got[c.Theme] = c.Unhappy
	}
	if want := map[string]int64{"exports": 2, "refunds": 2}; !maps.Equal(got, want) {
		t.Errorf("complaints %v, want %v", got, want)
	}
}

// An improvement's translation reaches a customer whose language the
// helpdesk gave by name.
func TestTextForALanguageByName(t *testing.T) {
	im := Improvement{Summary: "Faster", Message: "Done.", Translations: map[string]Text{"de": {Summary: "Schneller", Message: "Erledigt."}}}
	for _, locale := range []string{"de", "de-AT", "Deutsch", "German"} {
		if tx, lang := im.TextFor(locale); lang != "de" || tx.Summary != "Schneller" {
			t.Errorf("TextFor(%q) = %q in %s, want the German text", locale, tx.Summary, lang)
		}
	}
	if _, lang := im.TextFor("Svenska"); lang != "en" {
		t.Errorf("TextFor(Svenska) in %s, want the improvement's own en", lang)
	}
}

// The responses' agent filter takes the agent's name or address: reports
// name agents by address where the helpdesk gives one.
func TestAgentFilterTakesNameOrAddress(t *testing.T) {
	four := 4
	sv := Survey{AgentName: "Sam Agent", AgentEmail: "sam@acme.example", Kind: CSAT, Rating: &four}
	for _, agent := range []string{"Sam Agent", "sam agent", "sam@acme.example", "SAM@acme.example"} {
		if !(ResponseFilter{Agent: agent}).Match(sv) {
			t.Errorf("agent=%q does not match %+v", agent, sv)
		}
	}
	if (ResponseFilter{Agent: "bo@acme.example"}).Match(sv) {
		t.Error("another agent matches")
	}
}
