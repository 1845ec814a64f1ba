package closeloop

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Brand is how the team's emails and pages look: its name, its colour (on
// buttons, with white text) and an optional logo.
type Brand struct {
	Name    string // CLOSELOOP_BRAND_NAME; empty for none
	Color   string // CLOSELOOP_BRAND_COLOR, "#rrggbb"; DefaultBrandColor when unset
	LogoURL string // CLOSELOOP_BRAND_LOGO_URL, https; empty for none
}

// DefaultBrandColor is a blue on which white text has 6.7:1 contrast.
const DefaultBrandColor = "#1d4ed8"

// MinButtonContrast is the contrast white button text needs on the brand
// colour (WCAG AA for normal text).
const MinButtonContrast = 4.5

// ParseBrand checks a brand's values, refusing a colour on which white
// text would be hard to read, with a reason.
func ParseBrand(name, color, logo string) (Brand, error) {
	b := Brand{Name: strings.TrimSpace(name), Color: strings.ToLower(strings.TrimSpace(color)), LogoURL: strings.TrimSpace(logo)}
	if len(b.Name) > 100 {
		return b, fmt.Errorf("CLOSELOOP_BRAND_NAME is longer than 100 bytes")
	}
	if b.Color == "" {
		b.Color = DefaultBrandColor
	}
	if !strings.HasPrefix(b.Color, "#") {
		b.Color = "#" + b.Color // "1d4ed8" is meant as #1d4ed8; CSS needs the "#"
	}
	c, err := Contrast(b.Color, "#ffffff")
	if err != nil {
		return b, fmt.Errorf("CLOSELOOP_BRAND_COLOR=%q: want a hex colour such as #1d4ed8", color)
	}
	if c < MinButtonContrast {
		return b, fmt.Errorf("CLOSELOOP_BRAND_COLOR=%q: white text on it has %.2f:1 contrast, below %.1f:1; choose a darker colour", color, c, MinButtonContrast)
	}
	if b.LogoURL != "" {
		if u, err := url.Parse(b.LogoURL); err != nil || u.Scheme != "https" || u.Host == "" {
			return b, fmt.Errorf("CLOSELOOP_BRAND_LOGO_URL=%q: want an https URL", logo)
		}
	}
	return b, nil
}

// Contrast returns the WCAG contrast ratio of two "#rrggbb" colours.
func Contrast(a, b string) (float64, error) {
	la, err := luminance(a)
	if err != nil {
		return 0, err
	}
	lb, err := luminance(b)
	if err != nil {
		return 0, err
	}
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05), nil
}

func luminance(hex string) (float64, error) {
	h := strings.TrimPrefix(hex, "#")
	if len(h) != 6 {
		return 0, fmt.Errorf("not #rrggbb")
	}
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return 0, err
		}
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l, nil
}
