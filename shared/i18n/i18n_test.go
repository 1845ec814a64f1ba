package i18n

import (
	"reflect"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// TestCatalogIsComplete: every language has every string, and each format
// string takes as many arguments as English's, so no email prints %!s(MISSING).
func TestCatalogIsComplete(t *testing.T) {
	en := reflect.ValueOf(*catalog["en"])
	for _, lang := range Languages() {
		tx, ok := catalog[lang]
		if !ok {
			t.Fatalf("no %s", lang)
		}
		v := reflect.ValueOf(*tx)
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			switch val := v.Field(i).Interface().(type) {
			case string:
				if val == "" {
					t.Errorf("%s.%s is empty", lang, f.Name)
				}
				if verbs(val) != verbs(en.Field(i).String()) {
					t.Errorf("%s.%s has %d verbs, English %d", lang, f.Name, verbs(val), verbs(en.Field(i).String()))
				}
			case map[closeloop.Kind]string:
				for _, k := range []closeloop.Kind{closeloop.CSAT, closeloop.NPS, closeloop.CES} {
					if val[k] == "" {
						t.Errorf("%s.%s[%s] is empty", lang, f.Name, k)
					}
				}
			}
		}
	}
	for in, want := range map[string]string{"de-AT": "de", "fr_CA": "fr", "pt-BR": "pt", "ja-JP": "ja", "sv": "en", "": "en", "ES": "es"} {
		if got := For(in).Lang; got != want {
			t.Errorf("For(%q) = %s, want %s", in, got, want)
		}
	}
}

func verbs(s string) int {
	return strings.Count(s, "%s") + strings.Count(s, "%[1]s") + strings.Count(s, "%[2]s")
}

// TestForTakesLanguageNames: helpdesks' placeholders give a language's
// name, not its code (Zendesk's {{ticket.requester.language}} is
// "Deutsch" or "German"): named, in English or in itself, it is that
// language, not English.
func TestForTakesLanguageNames(t *testing.T) {
	for name, want := range map[string]string{
		"Deutsch": "de", "German": "de", "french": "fr", "Français": "fr", "Español": "es", "Spanish (Latin America)": "es",
		"Portuguese (Brazil)": "pt", "Português": "pt", "Italiano": "it", "Dutch": "nl", "Nederlands": "nl", "日本語": "ja", "Japanese": "ja",
		"English": "en", "Klingon": "en", "de-AT": "de", "pt_BR": "pt",
	} {
		if got := For(name).Lang; got != want {
			t.Errorf("For(%q) = %s, want %s", name, got, want)
		}
	}
}
