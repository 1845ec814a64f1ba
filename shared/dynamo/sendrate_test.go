package dynamo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestTakeSendTokens: many senders at once asking for tokens of one second
// are granted exactly the ceiling between them, never more; the next second
// starts afresh.
func TestTakeSendTokens(t *testing.T) {
	s := awstest.Store(t)
	ctx := context.Background()
	sec := time.Now().Unix() + 1000
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				got, err := s.TakeSendTokens(ctx, sec, 3, 100)
				if err != nil {
					t.Error(err)
					return
				}
				if got < 0 || got > 3 {
					t.Errorf("granted %d of 3", got)
				}
				granted.Add(int64(got))
			}
		}()
	}
	wg.Wait()
	if g := granted.Load(); g != 100 {
		t.Errorf("%d tokens granted for one second under a ceiling of 100 (480 asked)", g)
	}
	if got, err := s.TakeSendTokens(ctx, sec+1, 5, 100); err != nil || got != 5 {
		t.Errorf("the next second: %d %v", got, err)
	}
}
