package closing

import (
	"errors"
	"fmt"
	"testing"

	"github.com/closeloop/closeloop/shared/mail"
)

// TestOnlyNoTime: a message goes back on the queue, uncounted, only when
// every error of it is the sender's "no time left"; a real failure beside
// one still counts.
func TestOnlyNoTime(t *testing.T) {
	noTime := fmt.Errorf("closing imp/sv: %w", mail.ErrNoTime)
	for _, c := range []struct {
		err  error
		want bool
	}{
		{noTime, true},
		{errors.Join(noTime, fmt.Errorf("send: %w", mail.ErrNoTime)), true},
		{fmt.Errorf("batch: %w", errors.Join(noTime)), true},
		{errors.Join(noTime, errors.New("store unreachable")), false},
		{fmt.Errorf("send: %w", mail.ErrTemporary), false},
		{errors.Join(), false},
	} {
		if got := onlyNoTime(c.err); got != c.want {
			t.Errorf("onlyNoTime(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
