package closeloop

import (
	"strconv"
)

// Kind is the kind of survey: which question and which scale.
type Kind string

// The survey kinds Closeloop sends.
const (
	CSAT Kind = "csat" // customer satisfaction, 1 (very unsatisfied) to 5 (very satisfied)
	NPS  Kind = "nps"  // net promoter score, 0 (not at all likely) to 10 (extremely likely)
	CES  Kind = "ces"  // customer effort score, 1 (very difficult) to 7 (very easy)
)

// ParseKind returns the Kind named s, or an error wrapping ErrInvalid.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if !k.Valid() {
		return "", Errorf(ErrInvalid, "survey kind %q is not csat, nps or ces", s)
	}
	return k, nil
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == CSAT || k == NPS || k == CES }

// Scale returns the lowest and highest rating of k.
func (k Kind) Scale() (lo, hi int) {
	switch k {
	case NPS:
		return 0, 10
	case CES:
		return 1, 7
	default:
		return 1, 5
	}
}

// Ratings returns every rating on k's scale, lowest first.
func (k Kind) Ratings() []int {
	lo, hi := k.Scale()
	r := make([]int, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		r = append(r, i)
	}
	return r
}

// ParseRating parses s as a rating on k's scale. Its error wraps ErrInvalid
// and says what the scale is.
func (k Kind) ParseRating(s string) (int, error) {
	lo, hi := k.Scale()
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, Errorf(ErrInvalid, "rating must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

// Detractor reports whether rating r on k's scale is an unhappy answer that
// should alert the team: CSAT 1-2, NPS 0-6, CES 1-3.
func (k Kind) Detractor(r int) bool {
	switch k {
	case NPS:
		return r <= 6
	case CES:
		return r <= 3
	default:
		return r <= 2
	}
}

// Band is where a rating falls: detractor, passive or promoter.
type Band string

// The bands.
const (
	Detractor Band = "detractor"
	Passive   Band = "passive"
	Promoter  Band = "promoter"
)

// ParseBand returns the band named s, or an error wrapping ErrInvalid.
func ParseBand(s string) (Band, error) {
	switch b := Band(s); b {
	case Detractor, Passive, Promoter:
		return b, nil
	}
	return "", Errorf(ErrInvalid, "band %q is not detractor, passive or promoter", s)
}

// Band returns the band of rating r: Detractor as Detractor says; Promoter
// for CSAT 4-5, NPS 9-10 and CES 6-7; Passive otherwise.
func (k Kind) Band(r int) Band {
	switch {
	case k.Detractor(r):
		return Detractor
	case k == CSAT && r >= 4, k == NPS && r >= 9, k == CES && r >= 6:
		return Promoter
	}
	return Passive
}
